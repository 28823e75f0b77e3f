// incremental-exemplars.cpp
#include "incremental-exemplars.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <stdexcept>

#include "split.h"

namespace folia::train {

exemplar_selection parse_exemplar_selection(const std::string &s) {
    if (s == "herding") return exemplar_selection::herding;
    if (s == "random") return exemplar_selection::random;
    if (s == "distance") return exemplar_selection::distance;
    throw std::invalid_argument("unknown exemplar selection '" + s +
                                "' (herding, random, distance)");
}

const char *exemplar_selection_name(exemplar_selection s) {
    static const char *const names[] = {"herding", "random", "distance"};
    return enum_name(s, names);
}

namespace {

std::vector<double> class_mean(const std::vector<double> &f, int n, int d) {
    std::vector<double> mu(size_t(d), 0.0);
    for (int i = 0; i < n; ++i)
        for (int k = 0; k < d; ++k) mu[size_t(k)] += f[size_t(i) * d + k];
    for (auto &v : mu) v /= double(n);
    return mu;
}

}  // namespace

std::vector<int> herding_selection(const std::vector<double> &f, int n, int d, int m) {
    m = std::min(m, n);
    std::vector<int> chosen;
    if (m <= 0) return chosen;
    const std::vector<double> mu = class_mean(f, n, d);
    std::vector<double> sum(size_t(d), 0.0);  // sum of the chosen rows
    std::vector<char> used(size_t(n), 0);
    for (int k = 1; k <= m; ++k) {
        int best = -1;
        double best_dist = std::numeric_limits<double>::infinity();
        for (int i = 0; i < n; ++i) {
            if (used[size_t(i)]) continue;
            double dist = 0;
            for (int c = 0; c < d; ++c) {
                const double v =
                    mu[size_t(c)] - (sum[size_t(c)] + f[size_t(i) * d + c]) / double(k);
                dist += v * v;
            }
            if (dist < best_dist) {
                best_dist = dist;
                best = i;
            }
        }
        used[size_t(best)] = 1;
        chosen.push_back(best);
        for (int c = 0; c < d; ++c) sum[size_t(c)] += f[size_t(best) * d + c];
    }
    return chosen;
}

std::vector<int> distance_selection(const std::vector<double> &f, int n, int d, int m) {
    m = std::min(m, n);
    if (m <= 0) return {};
    const std::vector<double> mu = class_mean(f, n, d);
    std::vector<double> dist(size_t(n), 0.0);
    for (int i = 0; i < n; ++i)
        for (int c = 0; c < d; ++c) {
            const double v = f[size_t(i) * d + c] - mu[size_t(c)];
            dist[size_t(i)] += v * v;
        }
    std::vector<int> idx(static_cast<size_t>(n));
    std::iota(idx.begin(), idx.end(), 0);
    std::stable_sort(idx.begin(), idx.end(),
                     [&](int a, int b) { return dist[size_t(a)] < dist[size_t(b)]; });
    idx.resize(size_t(m));
    return idx;
}

std::vector<int> random_selection(int n, int m, uint64_t seed) {
    m = std::min(m, n);
    if (m <= 0) return {};
    std::vector<int> idx(static_cast<size_t>(n));
    std::iota(idx.begin(), idx.end(), 0);
    splitmix64 rng(seed ^ 0x5E1EC7ull);
    // Partial Fisher-Yates: the first m slots are a uniform sample without replacement.
    for (int i = 0; i < m; ++i)
        std::swap(idx[size_t(i)], idx[size_t(i) + rng.below(uint64_t(n - i))]);
    idx.resize(size_t(m));
    return idx;
}

std::vector<int> memory_budget_split(int total, int classes) {
    if (total < 0 || classes < 0)
        throw std::invalid_argument("memory_budget_split: negative total or class count");
    std::vector<int> r(size_t(classes), 0);
    for (int i = 0; i < classes; ++i) r[size_t(i)] = total / classes + (i < total % classes);
    return r;
}

namespace {

void l2_normalise_rows(std::vector<double> &f, int n, int d) {
    for (int i = 0; i < n; ++i) {
        double norm = 0;
        for (int c = 0; c < d; ++c) norm += f[size_t(i) * d + c] * f[size_t(i) * d + c];
        norm = std::sqrt(norm);
        if (norm > 0)
            for (int c = 0; c < d; ++c) f[size_t(i) * d + c] /= norm;
    }
}

void check_shape(const std::vector<float> &features, int n, int d, const char *who) {
    if (n < 0 || d <= 0 || features.size() != size_t(n) * size_t(d))
        throw std::invalid_argument(std::string(who) + ": features are not (n, d)");
}

}  // namespace

std::vector<float> nme_class_mean(const std::vector<float> &features, int n, int d) {
    check_shape(features, n, d, "nme_class_mean");
    if (n == 0) return {};
    std::vector<double> f(features.begin(), features.end());
    l2_normalise_rows(f, n, d);
    std::vector<double> mu = class_mean(f, n, d);
    l2_normalise_rows(mu, 1, d);
    return std::vector<float>(mu.begin(), mu.end());
}

std::vector<int> nme_predict(const std::vector<std::vector<float>> &means,
                             const std::vector<float> &features, int n, int d) {
    check_shape(features, n, d, "nme_predict");
    for (const auto &m : means)
        if (!m.empty() && m.size() != size_t(d))
            throw std::invalid_argument("nme_predict: a class mean is not of size d");
    std::vector<double> f(features.begin(), features.end());
    l2_normalise_rows(f, n, d);
    std::vector<int> pred(size_t(n), -1);
    for (int i = 0; i < n; ++i) {
        double best = std::numeric_limits<double>::infinity();
        for (size_t y = 0; y < means.size(); ++y) {
            if (means[y].empty()) continue;
            double dist = 0;
            for (int c = 0; c < d; ++c) {
                const double v = f[size_t(i) * d + c] - double(means[y][size_t(c)]);
                dist += v * v;
            }
            if (dist < best) {
                best = dist;
                pred[size_t(i)] = int(y);
            }
        }
    }
    return pred;
}

std::vector<int> select_exemplars(const std::vector<float> &features, int n, int d, int m,
                                  exemplar_selection how, uint64_t seed, bool l2_normalise) {
    check_shape(features, n, d, "select_exemplars");
    if (how == exemplar_selection::random) return random_selection(n, m, seed);
    std::vector<double> f(features.begin(), features.end());
    if (l2_normalise) l2_normalise_rows(f, n, d);
    return how == exemplar_selection::herding ? herding_selection(f, n, d, m)
                                              : distance_selection(f, n, d, m);
}

}  // namespace folia::train
