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

std::vector<int> herding_selection(const std::vector<double> &features, int n, int d, int m);
std::vector<int> distance_selection(const std::vector<double> &features, int n, int d, int m);
std::vector<int> random_selection(int n, int m, uint64_t seed);

}  // namespace folia::train
