// incremental-metrics.h: continual-learning metrics as Avalanche defines them (no LibTorch).
//
// R[t][j] = accuracy on the test samples of experience j, evaluated right after training
// experience t (j <= t; class-incremental: argmax over every output the model has then).
//  - ACC after step t (Avalanche's StreamAccuracy on the test stream of the experiences seen so
//    far, test_stream[:t+1]): correct / total over all their samples, i.e. sample-weighted.
//    acc_exp_mean[t] is the unweighted mean over experiences (Lopez-Paz & Ranzato's ACC), kept
//    too because the experiences differ in size.
//  - ExperienceForgetting of j after step t (t > j): R[j][j] - R[t][j], "accuracy right after
//    learning it minus accuracy now"; the experience just trained has none.
//  - StreamForgetting after step t: mean over j < t of that; reported after every step, its
//    value after the last step is "the" forgetting of a run.
//  - BWT (Avalanche's forgetting_bwt): -forgetting, per experience and as the stream mean.
#pragma once

#include <nlohmann/json.hpp>
#include <vector>

namespace folia::train {

struct accuracy_matrix {
    std::vector<int> test_count;           // test samples per experience
    std::vector<std::vector<double>> acc;  // acc[t][j], j <= t (row t has t + 1 entries)
    // Appends row t = acc.size() (its size must be t + 1); throws std::invalid_argument otherwise.
    void add_step(const std::vector<double> &row);
};

struct cl_metrics {
    std::vector<double> acc;           // per step: sample-weighted accuracy over seen experiences
    std::vector<double> acc_exp_mean;  // per step: unweighted mean over seen experiences
    std::vector<double> stream_forgetting;  // per step: mean_{j<t} R[j][j] - R[t][j] (0 at t = 0)
    std::vector<double> forgetting;  // per experience j < T-1 at the end: R[j][j] - R[T-1][j]
    std::vector<double> bwt;         // -forgetting
    double final_acc = 0, final_acc_exp_mean = 0, mean_forgetting = 0, mean_bwt = 0;
    nlohmann::json to_json() const;
};

cl_metrics compute_cl_metrics(const accuracy_matrix &m);

}  // namespace folia::train
