// ssl-fixmatch.cpp: FixMatch-style consistency training on the stream images (ssl-sim.h's
// run_fixmatch), with fixed or FlexMatch class thresholds.
#include <fmt/format.h>
#include <torch/torch.h>

#include <algorithm>
#include <filesystem>
#include <numeric>

#include "file-io.h"
#include "folia/augment.h"
#include "progress.h"
#include "ssl-common.h"
#include "ssl-loss.h"
#include "ssl-sim.h"

namespace folia::train::ssl {

using namespace detail;
namespace fs = std::filesystem;

namespace {

constexpr int32_t k_unlabeled = 2;  // train_item source of the stream images (label -1)

// The strong view: every transform of the shared core on and stronger than the field recipe,
// Cutout always (FixMatch's RandAugment views end with Cutout).
augment_params strong_augment_params() {
    augment_params p = field_augment_params();
    p.rotate_p = 1.0f;
    p.max_degrees = 30.0f;
    p.color_p = 1.0f;
    p.brightness = 0.4f;
    p.contrast = 0.4f;
    p.hue_p = 0.8f;
    p.hue_degrees = 20.0f;
    p.saturation = 0.5f;
    p.blur_p = 0.3f;
    p.noise_p = 0.3f;
    p.noise_std = 8.0f;
    p.cutout_p = 1.0f;
    p.cutout_max_side = 0.5f;
    return p;
}

// One epoch's figures over the unlabeled rows, and the thresholds it trained with.
struct epoch_stats {
    int epoch = -1;
    std::vector<double> tau;     // (K) class thresholds of this epoch
    std::vector<int64_t> sigma;  // (K) flex: confident predictions at the epoch's start
    int64_t rows = 0, masked = 0, masked_correct = 0, steps = 0;
    double loss_labeled = 0, loss_unlabeled = 0;
    nlohmann::json to_json() const {
        const auto [lo, hi] = std::minmax_element(tau.begin(), tau.end());
        return {
            {"epoch", epoch},
            {"unlabeled_rows", rows},
            {"masked", masked},
            {"mask_rate", rows ? double(masked) / double(rows) : 0.0},
            {"precision", masked ? double(masked_correct) / double(masked) : 0.0},
            {"loss_labeled", steps ? loss_labeled / double(steps) : 0.0},
            {"loss_unlabeled", steps ? loss_unlabeled / double(steps) : 0.0},
            {"threshold_min", *lo},
            {"threshold_max", *hi},
            {"threshold_mean", std::accumulate(tau.begin(), tau.end(), 0.0) / double(tau.size())},
            {"sigma", sigma}};
    }
};

// The epoch's thresholds. flex: sigma_c = unlabeled images the model, as the epoch starts,
// predicts as c with confidence >= tau (no augmentation, eval mode), then class_thresholds.
void start_epoch(epoch_stats &s, int epoch, const fixmatch_options &o, folia_net &model,
                 const workspace &w, const std::vector<int> &unlabeled) {
    const int k = int(w.data.classes.size());
    s = epoch_stats{};
    s.epoch = epoch;
    if (o.thresholds == "fixed") {
        s.tau.assign(size_t(k), o.tau);
        return;
    }
    const torch::Tensor q = torch::softmax(logits_of(model, w.images, unlabeled), 1);
    const auto [conf, pred] = q.max(1);
    const torch::Tensor confident = pred.masked_select(conf.ge(float(o.tau)));
    const torch::Tensor counts = torch::bincount(confident, {}, k).contiguous();  // (K) i64
    s.sigma.assign(counts.data_ptr<int64_t>(), counts.data_ptr<int64_t>() + k);
    ssl_params p;
    p.method = "flexmatch";
    p.tau = o.tau;
    p.tau_min = o.tau_min;
    s.tau = class_thresholds(p, s.sigma, int64_t(unlabeled.size()));
}

// The loss of one batch, and its figures added to the epoch's.
torch::Tensor batch_loss(const loss_context &c, epoch_stats &s, const fixmatch_options &o,
                         const workspace &w) {
    const fixmatch_terms t = fixmatch_loss(c.logits, c.batch.y, c.batch.source, c.weak_logits,
                                           c.batch.weak_rows, s.tau, o.lambda_u);
    ++s.steps;
    s.loss_labeled += t.labeled.item<double>();
    s.loss_unlabeled += t.unlabeled.item<double>();
    const int64_t m = t.mask.numel();
    s.rows += m;
    if (m == 0) return t.total;
    const auto rows = c.batch.weak_rows.accessor<int64_t, 1>();
    const auto mask = t.mask.accessor<bool, 1>();
    const auto y_hat = t.y_hat.accessor<int64_t, 1>();
    for (int64_t j = 0; j < m; ++j) {
        if (!mask[j]) continue;
        ++s.masked;
        // The true label rides along for measuring only (precision), never in the loss.
        const int image = c.batch.items[size_t(rows[j])].image;
        s.masked_correct += y_hat[j] == w.data.samples[size_t(image)].label;
    }
    return t.total;
}

std::string method_name(const fixmatch_options &o) {
    return o.thresholds == "fixed" ? "fixmatch" : "fixmatch-flex";
}

void validate(const fixmatch_options &o) {
    if (o.thresholds != "fixed" && o.thresholds != "flex")
        throw std::invalid_argument("--thresholds must be fixed or flex, not '" + o.thresholds +
                                    "'");
    if (!(o.tau > 0 && o.tau <= 1)) throw std::invalid_argument("--tau must be in (0, 1]");
    if (!(o.tau_min >= 0 && o.tau_min <= o.tau))
        throw std::invalid_argument("--tau-min must be in [0, tau]");
    if (!(o.lambda_u >= 0)) throw std::invalid_argument("--lambda-u must be >= 0");
    if (o.cfg.weighting != "none")
        throw std::invalid_argument(
            "fixmatch: --class-weights must be none (L_labeled is a plain "
            "mean, as in FixMatch)");
}

}  // namespace

namespace {

// The per-epoch figures of the unlabeled rows, kept beside last.pt so --resume has them all.
// Written when the epoch's steps are done, before its checkpoint: a kill in between repeats
// the epoch on --resume, whose entry then replaces the one written.
struct stats_log {
    std::string path;
    nlohmann::json epochs = nlohmann::json::array();
    void load(bool resume) {
        if (resume && fs::exists(path)) epochs = read_json_file(path);
    }
    void add(const epoch_stats &s) {
        nlohmann::json kept = nlohmann::json::array();
        for (const auto &e : epochs)
            if (e.at("epoch").get<int>() < s.epoch) kept.push_back(e);
        kept.push_back(s.to_json());
        epochs = kept;
        write_file_atomic(path, epochs.dump(1) + "\n");
    }
    nlohmann::json at_epoch(int epoch) const {
        for (const auto &e : epochs)
            if (e.at("epoch").get<int>() == epoch) return e;
        return nlohmann::json::object();
    }
};

nlohmann::json fixmatch_json(const fixmatch_options &o, const workspace &w,
                             const nlohmann::json &pre, size_t unlabeled,
                             const std::vector<epoch_record> &hist, const stats_log &log,
                             double val_acc, double test_acc, double seconds) {
    const size_t labeled = part_indices(w, part::labeled).size();
    nlohmann::json h = nlohmann::json::array();
    int best = 0;
    for (size_t i = 0; i < hist.size(); ++i) {
        h.push_back(hist[i].to_json());
        if (hist[i].val_acc > hist[size_t(best)].val_acc) best = int(i);
    }
    // The selected epoch's pseudo-labels: the unlabeled rows whose weak view passed.
    const nlohmann::json sel = log.at_epoch(hist.empty() ? 0 : hist[size_t(best)].epoch);
    const int pool = int(labeled + unlabeled);
    return {{"kind", "ssl"},
            {"method", method_name(o)},
            {"complete", true},
            {"selection", "best validation epoch"},
            {"command", o.command},
            {"seed", o.seed},
            {"fixmatch",
             {{"thresholds", o.thresholds},
              {"tau", o.tau},
              {"tau_min", o.tau_min},
              {"lambda_u", o.lambda_u},
              {"weak_view", "the baselines' augmentation, eval mode, no gradient"},
              {"strong_augment", augment_params_json(strong_augment_params())}}},
            {"config", o.cfg.to_json()},
            {"data", data_json(w, o.data)},
            {"labeled_images", labeled},
            {"unlabeled_images", unlabeled},
            {"train_images", pool},
            {"pool", pool},
            {"pretrain", pre},
            {"final",
             {{"best_epoch", best},
              {"accepted_used", sel.value("masked", 0)},
              {"precision_used", sel.value("precision", 0.0)},
              {"mask_rate", sel.value("mask_rate", 0.0)}}},
            {"val_acc", val_acc},
            {"test_acc", test_acc},
            {"epochs_run", hist.size()},
            {"history", h},
            {"unlabeled_history", log.epochs},
            {"seconds", seconds}};
}

// The supervised start and its accuracies (the gain is measured against them).
nlohmann::json load_start(const fixmatch_options &o, folia_net &model, const workspace &w) {
    nlohmann::json pre = {{"source", o.pretrained.empty() ? "fresh model" : o.pretrained}};
    if (o.pretrained.empty()) return pre;
    load_start_checkpoint(o.pretrained, model, w.images.size);
    pre["val_acc"] = accuracy_of(model, w, part_indices(w, part::val));
    pre["test_acc"] = accuracy_of(model, w, part_indices(w, part::test));
    return pre;
}

}  // namespace

nlohmann::json run_fixmatch(const fixmatch_options &o, const workspace *given) {
    validate(o);
    const auto t0 = clock_type::now();
    loaded_workspace lw;
    load(lw, o.data, given);
    const workspace &w = *lw.w;
    const std::vector<int> labeled = part_indices(w, part::labeled);
    const std::vector<int> unlabeled = part_indices(w, part::stream);
    const std::vector<int> val = part_indices(w, part::val), test = part_indices(w, part::test);
    std::vector<train_item> items = items_for(w.data, labeled);
    for (int i : unlabeled) items.push_back({i, -1, 1.0f, k_unlabeled});
    fmt::print(stderr, "{}: {} labeled + {} unlabeled (stream) images, val {}, test {}\n",
               method_name(o), labeled.size(), unlabeled.size(), val.size(), test.size());

    fs::create_directories(o.out);
    folia_net model = make_model(int(w.data.classes.size()), o.seed);
    const nlohmann::json pre = load_start(o, model, w);
    // Its own seed for augmentation, shuffling and dropout: o.seed is also the supervised
    // start's, whose draws would otherwise repeat epoch for epoch on the labeled images.
    train_config cfg =
        make_train_config(o.cfg, mix_seeds(o.seed, 0xF1C), o.out, o.resume, o.progress);
    cfg.weak_view_source = k_unlabeled;
    cfg.aug_by_source = {cfg.aug, cfg.aug, strong_augment_params()};
    trainer t(model, w.images, cfg);
    stats_log log{o.out + "/unlabeled-history.json"};
    log.load(o.resume);
    epoch_stats s;
    t.on_epoch_begin([&](int epoch) { start_epoch(s, epoch, o, t.model(), w, unlabeled); });
    t.set_loss([&](const loss_context &c) { return batch_loss(c, s, o, w); });
    t.on_epoch_trained([&](int) { log.add(s); });
    const auto hist = t.fit(items, items_for(w.data, val));
    // fit() leaves the best weights (by validation accuracy) in the model.
    const double val_acc = accuracy_of(model, w, val), test_acc = accuracy_of(model, w, test);
    const nlohmann::json res =
        fixmatch_json(o, w, pre, unlabeled.size(), hist, log, val_acc, test_acc, seconds_since(t0));
    write_file_atomic(o.out + "/results.json", res.dump(1) + "\n");
    if (!o.export_model.empty())
        export_to(model, w,
                  {{"trainer", "folia-ssl fixmatch"}, {"val_acc", val_acc}, {"seed", o.seed}},
                  o.export_model);
    fmt::print(stderr, "{}: val acc {:.2f} %, test acc {:.2f} % ({} epochs, {})\n", method_name(o),
               100 * val_acc, 100 * test_acc, hist.size(), format_duration(seconds_since(t0)));
    return res;
}

}  // namespace folia::train::ssl
