// metrics.h: classification metrics from logits (no LibTorch): accuracy, per-class precision /
// recall / F1, confusion matrix, NLL and expected calibration error. Logits are (N, K) row-major.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace folia::train {

// Row-wise softmax(logits / temperature): (N, K).
std::vector<float> softmax_rows(const std::vector<float> &logits, int k, double temperature = 1.0);

struct class_metrics {
    int support = 0;  // true instances
    int predicted = 0;
    double precision = 0, recall = 0, f1 = 0;  // recall == per-class accuracy
};

struct classification_report {
    int n = 0, k = 0;
    double accuracy = 0, top3_accuracy = 0, macro_f1 = 0, nll = 0, ece = 0;
    std::vector<class_metrics> per_class;
    std::vector<std::vector<int>> confusion;  // [true][predicted]
    nlohmann::json to_json(const std::vector<std::string> &labels) const;
};

// ECE with `bins` equal-width confidence bins (top-1 confidence vs accuracy), as Guo et al.
double expected_calibration_error(const std::vector<float> &probs, const std::vector<int> &labels,
                                  int k, int bins = 15);
// Reliability diagram data: {"ece", "bins": [{"lo", "hi", "count", "accuracy", "confidence"}]}.
nlohmann::json reliability_json(const std::vector<float> &probs, const std::vector<int> &labels,
                                int k, int bins = 15);
// Mean negative log-likelihood of softmax(logits / T).
double mean_nll(const std::vector<float> &logits, const std::vector<int> &labels, int k,
                double temperature = 1.0);

classification_report evaluate_logits(const std::vector<float> &logits,
                                      const std::vector<int> &labels, int k,
                                      double temperature = 1.0, int ece_bins = 15);

}  // namespace folia::train
