// timing-stats.h: the one definition of the benchmark figures (mean, nearest-rank percentiles)
// that the native `folia bench` and the wasm bench share; web/bench/bench.js mirrors it in JS.
#pragma once

#include <algorithm>
#include <cmath>
#include <vector>

namespace folia {

struct timing_stats {
    size_t n = 0;
    double mean_ms = 0, p50_ms = 0, p99_ms = 0, min_ms = 0, max_ms = 0;
};

// Nearest-rank percentile (the smallest sample with at least q of the samples at or below it)
// of samples sorted ascending; q in (0, 1].
inline double nearest_rank(const std::vector<double> &sorted, double q) {
    if (sorted.empty()) return 0;
    const size_t rank = size_t(std::ceil(q * double(sorted.size())));
    return sorted[std::min(sorted.size() - 1, rank > 0 ? rank - 1 : 0)];
}

// Figures of a list of timings in milliseconds (any order).
inline timing_stats summarize_ms(std::vector<double> ms) {
    timing_stats s;
    s.n = ms.size();
    if (ms.empty()) return s;
    std::sort(ms.begin(), ms.end());
    double sum = 0;
    for (double t : ms) sum += t;
    s.mean_ms = sum / double(ms.size());
    s.p50_ms = nearest_rank(ms, 0.50);
    s.p99_ms = nearest_rank(ms, 0.99);
    s.min_ms = ms.front();
    s.max_ms = ms.back();
    return s;
}

}  // namespace folia
