// incremental-metrics.cpp
#include "incremental-metrics.h"

#include <stdexcept>
#include <string>

namespace folia::train {

void accuracy_matrix::add_step(const std::vector<double> &row) {
    const size_t t = acc.size();
    if (row.size() != t + 1)
        throw std::invalid_argument("accuracy row of step " + std::to_string(t) + " has " +
                                    std::to_string(row.size()) + " entries, expected " +
                                    std::to_string(t + 1));
    if (test_count.size() < row.size())
        throw std::invalid_argument("accuracy row for an experience without a test count");
    acc.push_back(row);
}

cl_metrics compute_cl_metrics(const accuracy_matrix &m) {
    cl_metrics r;
    const size_t steps = m.acc.size();
    for (size_t t = 0; t < steps; ++t) {
        double correct = 0, total = 0, mean = 0, forget = 0;
        for (size_t j = 0; j <= t; ++j) {
            correct += m.acc[t][j] * m.test_count[j];
            total += m.test_count[j];
            mean += m.acc[t][j];
            if (j < t) forget += m.acc[j][j] - m.acc[t][j];
        }
        r.acc.push_back(total > 0 ? correct / total : 0);
        r.acc_exp_mean.push_back(mean / double(t + 1));
        r.stream_forgetting.push_back(t > 0 ? forget / double(t) : 0);
    }
    if (steps == 0) return r;
    const size_t last = steps - 1;
    for (size_t j = 0; j < last; ++j) {
        r.forgetting.push_back(m.acc[j][j] - m.acc[last][j]);
        r.bwt.push_back(-r.forgetting.back());
    }
    r.final_acc = r.acc.back();
    r.final_acc_exp_mean = r.acc_exp_mean.back();
    r.mean_forgetting = r.stream_forgetting.back();
    r.mean_bwt = -r.mean_forgetting;
    return r;
}

NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(cl_metrics, acc, acc_exp_mean, stream_forgetting, forgetting,
                                   bwt, final_acc, final_acc_exp_mean, mean_forgetting, mean_bwt)

nlohmann::json cl_metrics::to_json() const {
    return *this;
}

}  // namespace folia::train
