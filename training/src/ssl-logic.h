// ssl-logic.h: the bookkeeping of the pseudo-labelling stream simulation, without
// LibTorch (the unit tests and the CLI use it as plain C++):
//   - every simulated day, `images_per_day` new images arrive from the stream pool;
//   - p = softmax(f(x)), y_hat = argmax p, c = max p; accept when c >= tau and the class has
//     fewer than `cap_per_class` pseudo-labels (buffer + accepted set); else reject;
//   - accepted samples wait in a buffer; when it holds `retrain_threshold` of them (or the stream
//     ends and `final_retrain` is set), they join the accepted set and the model retrains on
//     labeled + every accepted pseudo-label;
//   - the pseudo-label loss is weighted by lambda * ramp(t), ramp(t) = min(t / T_ramp, 1).
// Methods (ssl_params::method): "fixed-tau" (the seed's: one tau for every class) and
// "flexmatch" (FlexMatch's curriculum pseudo-labelling, Zhang et al. 2021, adapted to a stream:
// class c's threshold is tau * M(beta_c), M(x) = x / (2 - x), where beta_c is the number of
// stream images so far predicted as c with confidence >= tau, normalised by the largest class
// count or, during warm-up, by the images not yet predicted confidently; tau_min floors it so
// that a class nobody predicts confidently yet does not accept everything).
// The true labels of stream images ride along only to measure pseudo-label precision.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace folia::train::ssl {

// The simulation's knobs and their defaults.
struct ssl_params {
    std::string method = "fixed-tau";  // fixed-tau or flexmatch
    double tau = 0.9;                  // confidence threshold (flexmatch: its upper end)
    double tau_min = 0.5;              // flexmatch: the lowest class threshold
    int cap_per_class = 500;           // most pseudo-labels per class; 0 = no cap
    int images_per_day = 100;          // stream images arriving each simulated day
    int retrain_threshold = 500;       // buffer size that triggers a retrain
    double lambda = 1.0;               // weight of L_pseudo
    double ramp_epochs = 10;           // T_ramp, in epochs
    // t of ramp(t): "global" counts every epoch trained with pseudo-labels since the stream
    // began (the ramp runs once, across retrains); "round" restarts it at every retrain.
    std::string ramp_scope = "global";
    int retrain_epochs = 3;     // epochs per retrain
    bool final_retrain = true;  // retrain on a non-empty buffer when the stream is exhausted
    nlohmann::json to_json() const;
    static ssl_params from_json(const nlohmann::json &j);
    // Throws std::invalid_argument with a clear message on out-of-range values.
    void validate() const;
};

// ramp(t) = min(t / T_ramp, 1) for t >= 0 (0 below); T_ramp <= 0 means no ramp (1).
double ramp(double t, double t_ramp);
// The t of the epoch about to be trained (1-based: the first pseudo-label epoch has t = 1, so it
// already sees the pseudo-labels, with weight 1/T_ramp). ssl_epochs_done counts epochs trained
// with pseudo-labels before it; epoch_in_round is the 0-based epoch inside the current retrain.
double ramp_t(const ssl_params &p, int ssl_epochs_done, int epoch_in_round);

// FlexMatch's mapping M(beta) = beta / (2 - beta) (convex: slow classes stay strict longer).
double flexmatch_map(double beta);
// Class thresholds for the next day. confident[c] counts the stream images so far predicted as c
// with confidence >= tau; arrived counts every stream image so far. beta_c = confident[c] /
// max(max_c confident, arrived - sum confident) (FlexMatch's threshold warm-up), 0 / 0 = 0;
// T_c = max(tau_min, tau * M(beta_c)). fixed-tau: T_c = tau for every class.
std::vector<double> class_thresholds(const ssl_params &p, const std::vector<int64_t> &confident,
                                     int64_t arrived);

enum class verdict : uint8_t { accepted, below_tau, capped };
const char *verdict_name(verdict v);

// One stream image after inference.
struct candidate {
    int32_t image = 0;       // dataset sample index (== image cache index)
    int32_t true_label = 0;  // hidden from the learner: for measuring only
    int32_t pred = 0;        // y_hat = argmax p
    float confidence = 0;    // c = max p
};

// probs is (n, k) row-major softmax output; images/true_labels have n entries.
std::vector<candidate> make_candidates(const std::vector<float> &probs, int k,
                                       const std::vector<int> &images,
                                       const std::vector<int> &true_labels);

// An ensemble teacher's verdicts: the element-wise mean of its members' (n, k) row-major
// softmax outputs (averaging probabilities, not logits, as Lakshminarayanan et al. 2017 do),
// so each row still sums to 1. Throws unless there is a member and all have one size.
std::vector<float> mean_probabilities(const std::vector<std::vector<float>> &members);

// Thresholding and the per-class cap for one day's candidates. per_class_count (size k) holds
// the pseudo-labels each class already has and is updated. Candidates are considered in order
// of decreasing confidence (ties: arrival order), so when the cap bites it keeps the most
// confident ones. Returns one verdict per candidate, in the candidates' order.
std::vector<verdict> select_pseudo_labels(const std::vector<candidate> &cands, double tau,
                                          int cap_per_class, std::vector<int> &per_class_count);
// The same with one threshold per class (tau[c] for a candidate predicted as c).
std::vector<verdict> select_pseudo_labels(const std::vector<candidate> &cands,
                                          const std::vector<double> &tau, int cap_per_class,
                                          std::vector<int> &per_class_count);

struct pseudo_label {
    int32_t image = 0, label = 0, true_label = 0;
    float confidence = 0;  // the weight w_i: the confidence when the label was made
    int32_t day = 0;       // 1-based day it arrived
};

struct day_record {
    int day = 0;  // 1-based
    int arrived = 0, accepted = 0, below_tau = 0, capped = 0, correct = 0;
    int buffer = 0;              // buffer size after the day (before a retrain it triggers)
    int accepted_total = 0;      // pseudo-labels made so far (buffer + accepted set)
    double precision_total = 0;  // of those, the share whose y_hat is the true label
    double val_acc = 0;          // of the model that labelled this day
    bool retrained = false;
    double threshold_min = 0, threshold_mean = 0;  // the day's class thresholds
    nlohmann::json to_json() const;
};

struct round_record {
    int round = 0, day = 0;    // retrain number (1-based), day that triggered it
    int new_labels = 0;        // pseudo-labels moved from the buffer in this round
    double new_precision = 0;  // their precision
    int accepted_total = 0;    // accepted set after the round
    double precision_total = 0;
    int train_items = 0;                   // labeled + accepted
    double ramp_first = 0, ramp_last = 0;  // lambda*ramp of the round's first and last epoch
    double loss = 0, val_acc = 0, test_acc = 0, seconds = 0;
    nlohmann::json to_json() const;
};

// The whole simulation state except the model and optimiser (those live in the checkpoint
// next to it). Everything random is derived from the seed and these counters, so this plus
// the torch state is enough to resume.
struct ssl_state {
    std::vector<int32_t> stream;  // stream sample indices in arrival order
    size_t cursor = 0;            // next stream position
    int day = 0;                  // days processed
    int round = 0;                // retrains done
    int ssl_epochs = 0;           // epochs trained with pseudo-labels (ramp's global t)
    std::vector<pseudo_label> buffer, accepted;
    std::vector<int> per_class;  // pseudo-labels per class (buffer + accepted)
    // Stream images so far predicted as each class with confidence >= tau (FlexMatch's sigma).
    std::vector<int64_t> confident;
    int64_t arrived = 0, n_accepted = 0, below_tau = 0, capped = 0;
    std::vector<day_record> days;
    std::vector<round_record> rounds;

    bool exhausted() const { return cursor >= stream.size(); }
    int days_total(int per_day) const;
    nlohmann::json to_json() const;
    static ssl_state from_json(const nlohmann::json &j);
};

// A fresh state: stream_indices shuffled with the seed (portable splitmix64 Fisher-Yates).
ssl_state make_state(const std::vector<int> &stream_indices, int num_classes, uint64_t seed);
// The arrival order alone (also used to pick the supervised baselines' extra labels).
std::vector<int> stream_order(std::vector<int> stream_indices, uint64_t seed);

// The next day's images (up to images_per_day, fewer on the last day).
std::vector<int> next_day_images(const ssl_state &s, const ssl_params &p);
// Applies the verdicts of one day: accepted candidates go to the buffer, counters and the day
// record are updated, the cursor moves on. Returns the day's record (also appended to s.days).
day_record ingest_day(ssl_state &s, const ssl_params &p, const std::vector<candidate> &cands,
                      double val_acc);
// The buffer trigger: buffer >= threshold, or the stream is exhausted with a non-empty buffer
// and final_retrain set.
bool retrain_due(const ssl_state &s, const ssl_params &p);
// Moves the buffer into the accepted set; returns the number moved.
int commit_buffer(ssl_state &s);

// Share of pseudo-labels whose label is the true label (0 for none).
double precision(const std::vector<pseudo_label> &v);
double precision_all(const ssl_state &s);  // buffer + accepted
std::vector<int> accepted_per_class(const ssl_state &s, int k);
// The pseudo-labels a noisy-student run (ssl-sim.h) trains on: those its finished teacher run
// used (the accepted set, in acceptance order; a buffer left by --no-final-retrain is not
// used), without the ones whose confidence is below min_confidence.
std::vector<pseudo_label> student_pseudo_labels(const ssl_state &teacher, double min_confidence);
// The pseudo-labels of a class-balanced student (method "balanced-student": Xie et al. 2020's
// data balancing, without its duplication of rare classes): a teacher model's verdicts on every
// stream image, and for each predicted class c the per_class most confident of the images
// predicted as c (ties: the candidates' order), leaving out those below min_confidence;
// per_class 0 keeps them all. Easy classes then cannot crowd out hard ones, which a single
// threshold lets them do. Ordered by class, then by decreasing confidence; day 0.
std::vector<pseudo_label> balanced_pseudo_labels(const std::vector<candidate> &cands, int k,
                                                 int per_class, double min_confidence);
// Pseudo-labels per assigned class (size k).
std::vector<int> per_class_counts(const std::vector<pseudo_label> &v, int k);
// (labeled + accepted pseudo-labels) / (labeled + stream pool).
double utilisation(int labeled, int accepted, int pool);

// Image passes (training images x epochs) still ahead, assuming the acceptance rate seen so
// far holds: for the ETA.
double remaining_passes(const ssl_state &s, const ssl_params &p, int labeled);

}  // namespace folia::train::ssl
