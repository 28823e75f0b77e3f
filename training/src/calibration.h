// calibration.h: temperature scaling (Guo et al. 2017) and the abstain threshold, fitted on
// validation logits (no LibTorch).
#pragma once

#include <nlohmann/json.hpp>
#include <vector>

namespace folia::train {

// T > 0 minimising the mean NLL of softmax(logits / T): golden-section search on log T in
// [log 0.05, log 20] (NLL is convex in 1/T, so unimodal along log T).
double fit_temperature(const std::vector<float> &logits, const std::vector<int> &labels, int k);

struct abstain_choice {
    double threshold = 0;      // abstain ("not sure") when the top calibrated p < threshold
    double flagged_wrong = 0;  // share of wrong answers flagged
    double flagged_right = 0;  // share of right answers flagged
    int wrong = 0, right = 0;
    nlohmann::json to_json() const;
};

// The threshold that flags the most wrong answers while flagging at most max_right_flagged of
// the right ones (ties: the fewest right ones), on calibrated probs (N, K).
abstain_choice choose_abstain_threshold(const std::vector<float> &probs,
                                        const std::vector<int> &labels, int k,
                                        double max_right_flagged);
// Rates of a given threshold on another set (e.g. the test split).
abstain_choice abstain_rates(const std::vector<float> &probs, const std::vector<int> &labels, int k,
                             double threshold);

}  // namespace folia::train
