// top-k.h: the k most probable classes, best first (ties: lower index first, so output is stable).
#pragma once

#include <algorithm>
#include <numeric>
#include <vector>

namespace folia_cli {

inline std::vector<int> top_k(const std::vector<float> &probs, int k) {
    std::vector<int> idx(probs.size());
    std::iota(idx.begin(), idx.end(), 0);
    k = std::min<int>(k, int(idx.size()));
    std::partial_sort(idx.begin(), idx.begin() + k, idx.end(), [&](int a, int b) {
        return probs[a] > probs[b] || (probs[a] == probs[b] && a < b);
    });
    idx.resize(size_t(k));
    return idx;
}

}  // namespace folia_cli
