// ssl-logic.cpp
#include "ssl-logic.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>

#include "split.h"

namespace folia::train::ssl {

// WITH_DEFAULT: a state saved before a field existed reads it as the default.
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(ssl_params, method, tau, tau_min, cap_per_class,
                                                images_per_day, retrain_threshold, lambda,
                                                ramp_epochs, ramp_scope, retrain_epochs,
                                                final_retrain)

nlohmann::json ssl_params::to_json() const {
    return *this;
}

ssl_params ssl_params::from_json(const nlohmann::json &j) {
    return j.get<ssl_params>();
}

void ssl_params::validate() const {
    auto bad = [](const std::string &m) { throw std::invalid_argument(m); };
    if (method != "fixed-tau" && method != "flexmatch")
        bad("--method must be fixed-tau or flexmatch");
    if (!(tau >= 0 && tau <= 1)) bad("--tau must be in [0, 1]");
    if (method == "flexmatch" && !(tau_min >= 0 && tau_min <= tau))
        bad("--tau-min must be in [0, tau]");
    if (cap_per_class < 0) bad("--cap must be >= 0 (0: no cap)");
    if (images_per_day < 1) bad("--per-day must be >= 1");
    if (retrain_threshold < 1) bad("--retrain-threshold must be >= 1");
    if (!(lambda >= 0)) bad("--lambda must be >= 0");
    if (!(ramp_epochs >= 0)) bad("--ramp-epochs must be >= 0");
    if (ramp_scope != "global" && ramp_scope != "round")
        bad("--ramp-scope must be global or round");
    if (retrain_epochs < 1) bad("--retrain-epochs must be >= 1");
}

double ramp(double t, double t_ramp) {
    if (t_ramp <= 0) return 1.0;
    if (!(t > 0)) return 0.0;
    return std::min(t / t_ramp, 1.0);
}

double ramp_t(const ssl_params &p, int ssl_epochs_done, int epoch_in_round) {
    return p.ramp_scope == "round" ? double(epoch_in_round + 1) : double(ssl_epochs_done + 1);
}

const char *verdict_name(verdict v) {
    static const char *const names[] = {"accepted", "below_tau", "capped"};
    return enum_name(v, names);
}

std::vector<candidate> make_candidates(const std::vector<float> &probs, int k,
                                       const std::vector<int> &images,
                                       const std::vector<int> &true_labels) {
    const size_t n = images.size();
    if (k < 1 || probs.size() != n * size_t(k) || true_labels.size() != n)
        throw std::invalid_argument("make_candidates: probs must be (n, k) for n images");
    std::vector<candidate> r(n);
    for (size_t i = 0; i < n; ++i) {
        const float *row = probs.data() + i * size_t(k);
        const int arg = int(std::max_element(row, row + k) - row);  // first max on ties
        r[i] = {images[i], true_labels[i], arg, row[arg]};
    }
    return r;
}

std::vector<float> mean_probabilities(const std::vector<std::vector<float>> &members) {
    if (members.empty()) throw std::invalid_argument("mean_probabilities: no member");
    std::vector<double> sum(members[0].size(), 0.0);  // double: m small f32 terms, no drift
    for (const auto &m : members) {
        if (m.size() != sum.size())
            throw std::invalid_argument("mean_probabilities: the members differ in size");
        for (size_t i = 0; i < m.size(); ++i) sum[i] += m[i];
    }
    std::vector<float> r(sum.size());
    for (size_t i = 0; i < r.size(); ++i) r[i] = float(sum[i] / double(members.size()));
    return r;
}

double flexmatch_map(double beta) {
    return beta / (2.0 - beta);
}

std::vector<double> class_thresholds(const ssl_params &p, const std::vector<int64_t> &confident,
                                     int64_t arrived) {
    std::vector<double> t(confident.size(), p.tau);
    if (p.method != "flexmatch") return t;
    int64_t most = 0, sum = 0;
    for (int64_t c : confident) {
        most = std::max(most, c);
        sum += c;
    }
    const double denom = double(std::max(most, arrived - sum));
    for (size_t c = 0; c < t.size(); ++c) {
        const double beta = denom > 0 ? double(confident[c]) / denom : 0.0;
        t[c] = std::max(p.tau_min, p.tau * flexmatch_map(beta));
    }
    return t;
}

std::vector<verdict> select_pseudo_labels(const std::vector<candidate> &cands, double tau,
                                          int cap_per_class, std::vector<int> &per_class_count) {
    return select_pseudo_labels(cands, std::vector<double>(per_class_count.size(), tau),
                                cap_per_class, per_class_count);
}

std::vector<verdict> select_pseudo_labels(const std::vector<candidate> &cands,
                                          const std::vector<double> &tau, int cap_per_class,
                                          std::vector<int> &per_class_count) {
    if (tau.size() != per_class_count.size())
        throw std::invalid_argument("select_pseudo_labels: one threshold per class");
    std::vector<size_t> order(cands.size());
    std::iota(order.begin(), order.end(), size_t(0));
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t a, size_t b) { return cands[a].confidence > cands[b].confidence; });
    std::vector<verdict> v(cands.size(), verdict::below_tau);
    for (size_t i : order) {
        const candidate &c = cands[i];
        if (c.pred < 0 || size_t(c.pred) >= per_class_count.size())
            throw std::invalid_argument("select_pseudo_labels: class out of range");
        // Compare in the confidences' own precision: 0.9f is below the double 0.9, yet a
        // softmax output of 0.9f must pass tau = 0.9.
        if (!(c.confidence >= float(tau[size_t(c.pred)]))) continue;
        int &count = per_class_count[size_t(c.pred)];
        if (cap_per_class > 0 && count >= cap_per_class) {
            v[i] = verdict::capped;
            continue;
        }
        ++count;
        v[i] = verdict::accepted;
    }
    return v;
}

NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(day_record, day, arrived, accepted, below_tau,
                                                capped, correct, buffer, accepted_total,
                                                precision_total, val_acc, retrained, threshold_min,
                                                threshold_mean)

nlohmann::json day_record::to_json() const {
    return *this;
}

NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(round_record, round, day, new_labels, new_precision,
                                   accepted_total, precision_total, train_items, ramp_first,
                                   ramp_last, loss, val_acc, test_acc, seconds)

nlohmann::json round_record::to_json() const {
    return *this;
}

namespace {

nlohmann::json labels_to_json(const std::vector<pseudo_label> &v) {
    // Compact rows [image, label, true_label, confidence, day]: thousands of them per state.
    nlohmann::json a = nlohmann::json::array();
    for (const auto &p : v) a.push_back({p.image, p.label, p.true_label, p.confidence, p.day});
    return a;
}

std::vector<pseudo_label> labels_from_json(const nlohmann::json &a) {
    std::vector<pseudo_label> v;
    for (const auto &r : a)
        v.push_back({r.at(0).get<int32_t>(), r.at(1).get<int32_t>(), r.at(2).get<int32_t>(),
                     r.at(3).get<float>(), r.at(4).get<int32_t>()});
    return v;
}

}  // namespace

int ssl_state::days_total(int per_day) const {
    return int((stream.size() + size_t(per_day) - 1) / size_t(per_day));
}

nlohmann::json ssl_state::to_json() const {
    nlohmann::json j = {{"stream", stream},
                        {"cursor", cursor},
                        {"day", day},
                        {"round", round},
                        {"ssl_epochs", ssl_epochs},
                        {"buffer", labels_to_json(buffer)},
                        {"accepted", labels_to_json(accepted)},
                        {"per_class", per_class},
                        {"confident", confident},
                        {"arrived", arrived},
                        {"n_accepted", n_accepted},
                        {"below_tau", below_tau},
                        {"capped", capped}};
    j["days"] = nlohmann::json::array();
    for (const auto &d : days) j["days"].push_back(d.to_json());
    j["rounds"] = nlohmann::json::array();
    for (const auto &r : rounds) j["rounds"].push_back(r.to_json());
    return j;
}

ssl_state ssl_state::from_json(const nlohmann::json &j) {
    ssl_state s;
    s.stream = j.at("stream").get<std::vector<int32_t>>();
    s.cursor = j.at("cursor");
    s.day = j.at("day");
    s.round = j.at("round");
    s.ssl_epochs = j.at("ssl_epochs");
    s.buffer = labels_from_json(j.at("buffer"));
    s.accepted = labels_from_json(j.at("accepted"));
    s.per_class = j.at("per_class").get<std::vector<int>>();
    s.confident = j.value("confident", std::vector<int64_t>(s.per_class.size(), 0));
    s.arrived = j.at("arrived");
    s.n_accepted = j.at("n_accepted");
    s.below_tau = j.at("below_tau");
    s.capped = j.at("capped");
    for (const auto &d : j.at("days")) s.days.push_back(d.get<day_record>());
    for (const auto &r : j.at("rounds")) s.rounds.push_back(r.get<round_record>());
    if (s.cursor > s.stream.size()) throw std::runtime_error("ssl state: cursor past the stream");
    return s;
}

std::vector<int> stream_order(std::vector<int> v, uint64_t seed) {
    splitmix64 rng(seed ^ 0x55A1'5EED'0000'0005ull);
    for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[rng.below(i)]);
    return v;
}

ssl_state make_state(const std::vector<int> &stream_indices, int num_classes, uint64_t seed) {
    ssl_state s;
    const std::vector<int> order = stream_order(stream_indices, seed);
    s.stream.assign(order.begin(), order.end());
    s.per_class.assign(size_t(num_classes), 0);
    s.confident.assign(size_t(num_classes), 0);
    return s;
}

std::vector<int> next_day_images(const ssl_state &s, const ssl_params &p) {
    const size_t end = std::min(s.stream.size(), s.cursor + size_t(p.images_per_day));
    return std::vector<int>(s.stream.begin() + long(s.cursor), s.stream.begin() + long(end));
}

day_record ingest_day(ssl_state &s, const ssl_params &p, const std::vector<candidate> &cands,
                      double val_acc) {
    if (s.confident.size() != s.per_class.size()) s.confident.resize(s.per_class.size(), 0);
    // The day's thresholds come from the days before it; then its confident predictions count.
    const std::vector<double> tau = class_thresholds(p, s.confident, s.arrived);
    const std::vector<verdict> v = select_pseudo_labels(cands, tau, p.cap_per_class, s.per_class);
    day_record d;
    d.day = s.day + 1;
    d.arrived = int(cands.size());
    d.val_acc = val_acc;
    d.threshold_min = tau.empty() ? p.tau : *std::min_element(tau.begin(), tau.end());
    d.threshold_mean =
        tau.empty() ? p.tau : std::accumulate(tau.begin(), tau.end(), 0.0) / double(tau.size());
    for (size_t i = 0; i < cands.size(); ++i) {
        const candidate &c = cands[i];
        if (c.confidence >= float(p.tau)) ++s.confident.at(size_t(c.pred));
        if (v[i] == verdict::below_tau) {
            ++d.below_tau;
        } else if (v[i] == verdict::capped) {
            ++d.capped;
        } else {
            ++d.accepted;
            if (c.pred == c.true_label) ++d.correct;
            s.buffer.push_back({c.image, c.pred, c.true_label, c.confidence, d.day});
        }
    }
    s.cursor = std::min(s.stream.size(), s.cursor + cands.size());
    s.day = d.day;
    s.arrived += d.arrived;
    s.n_accepted += d.accepted;
    s.below_tau += d.below_tau;
    s.capped += d.capped;
    d.buffer = int(s.buffer.size());
    d.accepted_total = int(s.buffer.size() + s.accepted.size());
    d.precision_total = precision_all(s);
    s.days.push_back(d);
    return d;
}

bool retrain_due(const ssl_state &s, const ssl_params &p) {
    if (s.buffer.size() >= size_t(p.retrain_threshold)) return true;
    return s.exhausted() && p.final_retrain && !s.buffer.empty();
}

int commit_buffer(ssl_state &s) {
    const int n = int(s.buffer.size());
    s.accepted.insert(s.accepted.end(), s.buffer.begin(), s.buffer.end());
    s.buffer.clear();
    return n;
}

double precision(const std::vector<pseudo_label> &v) {
    if (v.empty()) return 0.0;
    size_t ok = 0;
    for (const auto &p : v) ok += p.label == p.true_label;
    return double(ok) / double(v.size());
}

double precision_all(const ssl_state &s) {
    const size_t n = s.buffer.size() + s.accepted.size();
    if (n == 0) return 0.0;
    size_t ok = 0;
    for (const auto &p : s.buffer) ok += p.label == p.true_label;
    for (const auto &p : s.accepted) ok += p.label == p.true_label;
    return double(ok) / double(n);
}

std::vector<pseudo_label> student_pseudo_labels(const ssl_state &teacher, double min_confidence) {
    // Compared in f32, the confidences' own precision: a floor of 0.7 keeps a stored 0.7f.
    const float floor = float(min_confidence);
    std::vector<pseudo_label> v;
    for (const auto &p : teacher.accepted)
        if (p.confidence >= floor) v.push_back(p);
    return v;
}

std::vector<pseudo_label> balanced_pseudo_labels(const std::vector<candidate> &cands, int k,
                                                 int per_class, double min_confidence) {
    if (k <= 0) throw std::invalid_argument("balanced_pseudo_labels: k must be > 0");
    if (per_class < 0) throw std::invalid_argument("--top-per-class must be >= 0 (0: every image)");
    const float floor = float(min_confidence);  // in f32, as student_pseudo_labels
    std::vector<std::vector<size_t>> by_class(static_cast<size_t>(k));
    for (size_t i = 0; i < cands.size(); ++i) {
        const candidate &c = cands[i];
        if (c.pred < 0 || c.pred >= k)
            throw std::invalid_argument("balanced_pseudo_labels: a prediction outside 0..k-1");
        if (c.confidence >= floor) by_class[size_t(c.pred)].push_back(i);
    }
    std::vector<pseudo_label> out;
    for (auto &idx : by_class) {
        std::stable_sort(idx.begin(), idx.end(), [&](size_t a, size_t b) {
            return cands[a].confidence > cands[b].confidence;
        });
        const size_t n = per_class == 0 ? idx.size() : std::min(idx.size(), size_t(per_class));
        for (size_t j = 0; j < n; ++j) {
            const candidate &c = cands[idx[j]];
            out.push_back({c.image, c.pred, c.true_label, c.confidence, 0});
        }
    }
    return out;
}

std::vector<int> per_class_counts(const std::vector<pseudo_label> &v, int k) {
    std::vector<int> c(size_t(k), 0);
    for (const auto &p : v) ++c.at(size_t(p.label));
    return c;
}

std::vector<int> accepted_per_class(const ssl_state &s, int k) {
    return per_class_counts(s.accepted, k);
}

double utilisation(int labeled, int accepted, int pool) {
    return pool > 0 ? double(labeled + accepted) / double(pool) : 0.0;
}

double remaining_passes(const ssl_state &s, const ssl_params &p, int labeled) {
    const double rate = s.arrived > 0 ? double(s.n_accepted) / double(s.arrived) : 0.5;
    double future = rate * double(s.stream.size() - s.cursor);  // pseudo-labels still to come
    double accepted = double(s.accepted.size()), buffer = double(s.buffer.size());
    double passes = 0;
    while (buffer + future >= double(p.retrain_threshold)) {
        const double take = double(p.retrain_threshold) - buffer;
        future -= std::max(0.0, take);
        accepted += std::max(buffer, double(p.retrain_threshold));
        buffer = 0;
        passes += double(p.retrain_epochs) * (labeled + accepted);
    }
    if (p.final_retrain && buffer + future > 0)
        passes += double(p.retrain_epochs) * (labeled + accepted + buffer + future);
    return passes;
}

}  // namespace folia::train::ssl
