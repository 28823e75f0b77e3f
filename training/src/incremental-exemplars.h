// incremental-exemplars.h: choosing a rehearsal memory from feature vectors (no LibTorch).
//
// Features are (n, d) row-major f32, one row per candidate image of ONE class (the model's
// pooled features, see folia_net::features). Selection returns m distinct row indices (all of
// them, in selection order, when m >= n):
//  - herding (iCaRL, Rebuffi et al. 2017, alg. 4): with mu the class mean, step k picks
//      argmin_x || mu - (phi(x) + sum_{j<k} phi(p_j)) / k ||   over rows not yet chosen,
//    so the running mean of the exemplars tracks the class mean;
//  - distance: the m rows nearest to mu (ascending distance);
//  - random: m rows drawn uniformly without replacement from a seeded RNG.
// Ties go to the lower index. With l2_normalise each row is scaled to unit length first
// (iCaRL's feature normalisation); zero rows stay zero.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace folia::train {

enum class exemplar_selection { herding, random, distance };
exemplar_selection parse_exemplar_selection(const std::string &s);  // throws on unknown names
const char *exemplar_selection_name(exemplar_selection s);

std::vector<int> select_exemplars(const std::vector<float> &features, int n, int d, int m,
                                  exemplar_selection how, uint64_t seed = 0,
                                  bool l2_normalise = true);

// ---- a fixed total memory (iCaRL) -------------------------------------------------------
// The per-class budget of a total memory of `total` exemplars over `classes` seen classes:
// floor(total / classes) each, and the remainder, one each, to the lowest class positions
// (position i = the i-th smallest class id seen). total = 10, classes = 3 -> {4, 3, 3}.
std::vector<int> memory_budget_split(int total, int classes);

// iCaRL's ReduceExemplarSet: the first m of an exemplar list kept in selection order (all of it
// when m >= its size). For every selection here the prefix is exactly what selecting m on the
// same features would give: herding is greedy (its order is a priority order), distance
// selection sorts by distance, and random selection is a partial Fisher-Yates whose first m
// slots do not depend on how many more are drawn.
template <class T>
std::vector<T> reduce_exemplar_set(std::vector<T> set, int m) {
    if (m < 0) m = 0;
    if (set.size() > size_t(m)) set.resize(size_t(m));
    return set;
}

// ---- nearest-mean-of-exemplars (iCaRL, alg. 1) -----------------------------------------------
// The class mean of (n, d) features: each row L2-normalised, averaged, the mean normalised
// again. Zero rows stay zero; n = 0 gives an empty vector (no mean: the class is skipped).
std::vector<float> nme_class_mean(const std::vector<float> &features, int n, int d);

// Predictions for (n, d) features: argmin_y || x/|x| - mu_y || over the classes whose mean is
// not empty (means[y], each of size d or empty); ties go to the lower class. -1 when no class
// has a mean.
std::vector<int> nme_predict(const std::vector<std::vector<float>> &means,
                             const std::vector<float> &features, int n, int d);

std::vector<int> herding_selection(const std::vector<double> &features, int n, int d, int m);
std::vector<int> distance_selection(const std::vector<double> &features, int n, int d, int m);
std::vector<int> random_selection(int n, int m, uint64_t seed);

}  // namespace folia::train
