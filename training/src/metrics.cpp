// metrics.cpp
#include "metrics.h"

#include <algorithm>
#include <cmath>

namespace folia::train {

std::vector<float> softmax_rows(const std::vector<float> &logits, int k, double t) {
    std::vector<float> p(logits.size());
    const size_t n = logits.size() / size_t(k);
    for (size_t i = 0; i < n; ++i) {
        const float *l = logits.data() + i * size_t(k);
        double mx = l[0];
        for (int j = 1; j < k; ++j) mx = std::max(mx, double(l[j]));
        double sum = 0;
        for (int j = 0; j < k; ++j) sum += std::exp((l[j] - mx) / t);
        for (int j = 0; j < k; ++j)
            p[i * size_t(k) + size_t(j)] = float(std::exp((l[j] - mx) / t) / sum);
    }
    return p;
}

double mean_nll(const std::vector<float> &logits, const std::vector<int> &labels, int k, double t) {
    double total = 0;
    for (size_t i = 0; i < labels.size(); ++i) {
        const float *l = logits.data() + i * size_t(k);
        double mx = l[0];
        for (int j = 1; j < k; ++j) mx = std::max(mx, double(l[j]));
        double sum = 0;
        for (int j = 0; j < k; ++j) sum += std::exp((l[j] - mx) / t);
        total += std::log(sum) - (l[labels[i]] - mx) / t;
    }
    return labels.empty() ? 0 : total / double(labels.size());
}

double expected_calibration_error(const std::vector<float> &probs, const std::vector<int> &labels,
                                  int k, int bins) {
    std::vector<double> conf(size_t(bins), 0), acc(size_t(bins), 0), cnt(size_t(bins), 0);
    for (size_t i = 0; i < labels.size(); ++i) {
        const float *p = probs.data() + i * size_t(k);
        const int pred = int(std::max_element(p, p + k) - p);
        const double c = p[pred];
        const int b = std::min(bins - 1, int(c * bins));
        conf[size_t(b)] += c;
        acc[size_t(b)] += pred == labels[i];
        cnt[size_t(b)] += 1;
    }
    double ece = 0;
    for (int b = 0; b < bins; ++b)
        if (cnt[size_t(b)] > 0)
            ece += std::abs(acc[size_t(b)] - conf[size_t(b)]) / double(labels.size());
    return ece;
}

nlohmann::json reliability_json(const std::vector<float> &probs, const std::vector<int> &labels,
                                int k, int bins) {
    std::vector<double> conf(size_t(bins), 0), acc(size_t(bins), 0), cnt(size_t(bins), 0);
    for (size_t i = 0; i < labels.size(); ++i) {
        const float *p = probs.data() + i * size_t(k);
        const int pred = int(std::max_element(p, p + k) - p);
        const int b = std::min(bins - 1, int(double(p[pred]) * bins));
        conf[size_t(b)] += p[pred];
        acc[size_t(b)] += pred == labels[i];
        cnt[size_t(b)] += 1;
    }
    nlohmann::json out = nlohmann::json::array();
    for (int b = 0; b < bins; ++b) {
        const double n = cnt[size_t(b)];
        out.push_back({{"lo", double(b) / bins},
                       {"hi", double(b + 1) / bins},
                       {"count", n},
                       {"accuracy", n ? acc[size_t(b)] / n : 0.0},
                       {"confidence", n ? conf[size_t(b)] / n : 0.0}});
    }
    return {{"ece", expected_calibration_error(probs, labels, k, bins)}, {"bins", out}};
}

classification_report evaluate_logits(const std::vector<float> &logits,
                                      const std::vector<int> &labels, int k, double t,
                                      int ece_bins) {
    classification_report r;
    r.n = int(labels.size());
    r.k = k;
    r.per_class.assign(size_t(k), {});
    r.confusion.assign(size_t(k), std::vector<int>(size_t(k), 0));
    const std::vector<float> probs = softmax_rows(logits, k, t);
    int correct = 0, top3 = 0;
    for (size_t i = 0; i < labels.size(); ++i) {
        const float *l = logits.data() + i * size_t(k);
        const int pred = int(std::max_element(l, l + k) - l);
        correct += pred == labels[i];
        int rank = 0;
        for (int j = 0; j < k; ++j) rank += l[j] > l[labels[i]];
        top3 += rank < 3;
        r.confusion[size_t(labels[i])][size_t(pred)]++;
        r.per_class[size_t(labels[i])].support++;
        r.per_class[size_t(pred)].predicted++;
    }
    double f1_sum = 0;
    int present = 0;
    for (int c = 0; c < k; ++c) {
        auto &m = r.per_class[size_t(c)];
        const int tp = r.confusion[size_t(c)][size_t(c)];
        m.precision = m.predicted ? double(tp) / m.predicted : 0;
        m.recall = m.support ? double(tp) / m.support : 0;
        m.f1 =
            m.precision + m.recall > 0 ? 2 * m.precision * m.recall / (m.precision + m.recall) : 0;
        if (m.support) {
            f1_sum += m.f1;
            ++present;
        }
    }
    r.accuracy = r.n ? double(correct) / r.n : 0;
    r.top3_accuracy = r.n ? double(top3) / r.n : 0;
    r.macro_f1 = present ? f1_sum / present : 0;
    r.nll = mean_nll(logits, labels, k, t);
    r.ece = expected_calibration_error(probs, labels, k, ece_bins);
    return r;
}

nlohmann::json classification_report::to_json(const std::vector<std::string> &labels) const {
    nlohmann::json pc = nlohmann::json::array();
    for (int c = 0; c < k; ++c) {
        const auto &m = per_class[size_t(c)];
        pc.push_back({{"label", c < int(labels.size()) ? labels[size_t(c)] : std::to_string(c)},
                      {"support", m.support},
                      {"predicted", m.predicted},
                      {"accuracy", m.recall},
                      {"precision", m.precision},
                      {"recall", m.recall},
                      {"f1", m.f1}});
    }
    return {{"n", n},
            {"accuracy", accuracy},
            {"top3_accuracy", top3_accuracy},
            {"macro_f1", macro_f1},
            {"nll", nll},
            {"ece", ece},
            {"per_class", pc},
            {"confusion", confusion}};
}

}  // namespace folia::train
