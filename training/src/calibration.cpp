// calibration.cpp
#include "calibration.h"

#include <algorithm>
#include <cmath>

#include "metrics.h"

namespace folia::train {

double fit_temperature(const std::vector<float> &logits, const std::vector<int> &labels, int k) {
    if (labels.empty()) return 1.0;
    auto f = [&](double log_t) { return mean_nll(logits, labels, k, std::exp(log_t)); };
    double a = std::log(0.05), b = std::log(20.0);
    const double g = (std::sqrt(5.0) - 1) / 2;
    double c = b - g * (b - a), d = a + g * (b - a);
    double fc = f(c), fd = f(d);
    for (int it = 0; it < 80; ++it) {
        if (fc < fd) {
            b = d, d = c, fd = fc;
            c = b - g * (b - a), fc = f(c);
        } else {
            a = c, c = d, fc = fd;
            d = a + g * (b - a), fd = f(d);
        }
    }
    return std::exp((a + b) / 2);
}

nlohmann::json abstain_choice::to_json() const {
    return {{"threshold", threshold},
            {"flagged_wrong_rate", flagged_wrong},
            {"flagged_right_rate", flagged_right},
            {"wrong", wrong},
            {"right", right}};
}

namespace {

void top1(const std::vector<float> &probs, const std::vector<int> &labels, int k,
          std::vector<double> *conf_right, std::vector<double> *conf_wrong) {
    for (size_t i = 0; i < labels.size(); ++i) {
        const float *p = probs.data() + i * size_t(k);
        const int pred = int(std::max_element(p, p + k) - p);
        (pred == labels[i] ? conf_right : conf_wrong)->push_back(p[pred]);
    }
}

}  // namespace

abstain_choice abstain_rates(const std::vector<float> &probs, const std::vector<int> &labels, int k,
                             double threshold) {
    std::vector<double> r, w;
    top1(probs, labels, k, &r, &w);
    abstain_choice a;
    a.threshold = threshold;
    a.right = int(r.size());
    a.wrong = int(w.size());
    a.flagged_right =
        r.empty()
            ? 0
            : double(std::count_if(r.begin(), r.end(), [&](double c) { return c < threshold; })) /
                  double(r.size());
    a.flagged_wrong =
        w.empty()
            ? 0
            : double(std::count_if(w.begin(), w.end(), [&](double c) { return c < threshold; })) /
                  double(w.size());
    return a;
}

abstain_choice choose_abstain_threshold(const std::vector<float> &probs,
                                        const std::vector<int> &labels, int k,
                                        double max_right_flagged) {
    std::vector<double> r, w;
    top1(probs, labels, k, &r, &w);
    // Candidates: every observed confidence (flag p < t) and "never".
    std::vector<double> cand = r;
    cand.insert(cand.end(), w.begin(), w.end());
    cand.push_back(0.0);
    std::sort(cand.begin(), cand.end());
    cand.erase(std::unique(cand.begin(), cand.end()), cand.end());
    abstain_choice best = abstain_rates(probs, labels, k, 0.0);
    for (double t : cand) {
        const abstain_choice a = abstain_rates(probs, labels, k, t);
        if (a.flagged_right > max_right_flagged) continue;
        // Most wrong answers flagged within the budget; on ties, fewest right ones flagged.
        if (a.flagged_wrong > best.flagged_wrong ||
            (a.flagged_wrong == best.flagged_wrong && a.flagged_right < best.flagged_right))
            best = a;
    }
    return best;
}

}  // namespace folia::train
