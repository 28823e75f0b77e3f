// incremental-protocol.cpp
#include "incremental-protocol.h"

#include <algorithm>
#include <stdexcept>

namespace folia::train {

std::vector<std::string> cil_protocol::labels(const dataset &d, int n_outputs) const {
    if (n_outputs > int(class_order.size()))
        throw std::invalid_argument("more outputs than classes in the protocol");
    std::vector<std::string> r;
    for (int i = 0; i < n_outputs; ++i) r.push_back(d.classes.at(size_t(class_order[size_t(i)])));
    return r;
}

int cil_protocol::experience_of_output(int output) const {
    for (const auto &e : experiences)
        if (output >= e.first_output && output < e.num_outputs_after()) return e.id;
    return -1;
}

cil_protocol make_protocol(int num_classes, const protocol_params &p) {
    if (num_classes < 1) throw std::invalid_argument("class-incremental protocol: no classes");
    const int first = p.first_classes > 0 ? p.first_classes : std::max(1, num_classes / 2);
    if (first > num_classes)
        throw std::invalid_argument("class-incremental protocol: first experience has " +
                                    std::to_string(first) + " classes, the data only " +
                                    std::to_string(num_classes));
    const int rest = num_classes - first;
    if (p.steps < 0 || (p.steps == 0 && rest > 0) || p.steps > rest)
        throw std::invalid_argument("class-incremental protocol: cannot share " +
                                    std::to_string(rest) + " remaining classes among " +
                                    std::to_string(p.steps) + " steps");
    cil_protocol r;
    r.class_order.resize(size_t(num_classes));
    for (int i = 0; i < num_classes; ++i) r.class_order[size_t(i)] = i;
    if (p.shuffle_classes) {
        splitmix64 rng(p.seed ^ 0xC1A55E5ull);
        for (size_t i = r.class_order.size(); i > 1; --i)
            std::swap(r.class_order[i - 1], r.class_order[rng.below(i)]);
    }
    r.output_of.assign(size_t(num_classes), -1);
    for (int i = 0; i < num_classes; ++i) r.output_of[size_t(r.class_order[size_t(i)])] = i;
    // Sizes: first, then `rest` spread so earlier steps take the remainder (15 in 2: 8, 7).
    std::vector<int> sizes = {first};
    for (int s = 0; s < p.steps; ++s)
        sizes.push_back(rest / p.steps + (s < rest % p.steps ? 1 : 0));
    int at = 0;
    for (size_t e = 0; e < sizes.size(); ++e) {
        cil_experience x;
        x.id = int(e);
        x.first_output = at;
        x.classes.assign(r.class_order.begin() + at, r.class_order.begin() + at + sizes[e]);
        at += sizes[e];
        r.experiences.push_back(std::move(x));
    }
    return r;
}

std::vector<int> experience_samples(const dataset &d, const data_split &s, const cil_protocol &p,
                                    int exp, const std::vector<part> &parts) {
    const cil_experience &e = p.experiences.at(size_t(exp));
    std::vector<char> in_exp(d.classes.size(), 0);
    for (int c : e.classes) in_exp.at(size_t(c)) = 1;
    std::vector<int> r;
    for (size_t i = 0; i < d.samples.size(); ++i) {
        if (!in_exp[size_t(d.samples[i].label)]) continue;
        if (std::find(parts.begin(), parts.end(), s.parts[i]) == parts.end()) continue;
        r.push_back(int(i));
    }
    return r;
}

}  // namespace folia::train
