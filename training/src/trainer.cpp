// trainer.cpp
#include "trainer.h"

#include <cmath>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fmt/format.h>
#include <unistd.h>

#include "checkpoint.h"
#include "dist.h"
#include "progress.h"
#include "split.h"
#include "file-io.h"

namespace folia::train {

std::vector<train_item> items_for(const dataset &d, const std::vector<int> &indices) {
    std::vector<train_item> r;
    r.reserve(indices.size());
    for (int i : indices) r.push_back({i, d.samples[size_t(i)].label, 1.0f, 0});
    return r;
}

class_weighting parse_class_weighting(const std::string &s) {
    if (s == "none") return class_weighting::none;
    if (s == "sqrt") return class_weighting::sqrt_inverse;
    if (s == "inverse") return class_weighting::inverse;
    throw std::runtime_error("unknown class weighting '" + s + "' (none, sqrt, inverse)");
}

void setup_runtime(int threads) {
    // LibTorch picks 1 thread on this VM (cpuinfo sees one core): always set it explicitly.
    torch::set_num_threads(std::max(1, threads));
}

namespace {

// Fault injection for tests/test-fault-resume.cpp: FOLIA_FAULT_KILL_AT_STEP=N makes the process
// SIGKILL itself once the global optimiser step count reaches N (mid-epoch, before the epoch's
// checkpoint), as a power cut would. Off unless set.
void fault_kill_at_step(int64_t step) {
    static const int64_t at = [] {
        const char *v = std::getenv("FOLIA_FAULT_KILL_AT_STEP");
        return v && *v ? std::strtoll(v, nullptr, 10) : int64_t(-1);
    }();
    if (at >= 0 && step == at) ::kill(::getpid(), SIGKILL);
}

// A killed run leaves the temp file of the write it was in (file-io.cpp names them
// "<file>.tmp<pid>"). Nobody reads them; the resumed run, the folder's only writer, removes them.
void remove_stale_temps(const std::string &dir) {
    std::error_code ec;
    for (const auto &e : std::filesystem::directory_iterator(dir, ec)) {
        const std::string name = e.path().filename().string();
        for (const char *f : {"last.pt.tmp", "best.pt.tmp", "history.json.tmp"})
            if (name.rfind(f, 0) == 0) std::filesystem::remove(e.path(), ec);
    }
}

}  // namespace

train_config config_from_options(const fit_options &o) {
    train_config cfg;
    cfg.epochs = o.epochs;
    cfg.batch = o.batch;
    cfg.lr = o.lr;
    cfg.weight_decay = o.weight_decay;
    cfg.schedule = o.schedule;
    cfg.warmup_epochs = o.warmup;
    cfg.min_lr_frac = o.min_lr_frac;
    cfg.patience = o.patience;
    cfg.weighting = parse_class_weighting(o.weighting);
    cfg.max_steps_per_epoch = o.max_steps;
    return cfg;
}

nlohmann::json augment_params_json(const augment_params &a) {
    return {{"flip_p", a.flip_p},
            {"rotate_p", a.rotate_p},
            {"max_degrees", a.max_degrees},
            {"color_p", a.color_p},
            {"brightness", a.brightness},
            {"contrast", a.contrast},
            {"noise_p", a.noise_p},
            {"noise_std", a.noise_std},
            {"crop_p", a.crop_p},
            {"crop_min_area", a.crop_min_area},
            {"crop_max_ratio", a.crop_max_ratio},
            {"hue_p", a.hue_p},
            {"hue_degrees", a.hue_degrees},
            {"saturation", a.saturation},
            {"blur_p", a.blur_p},
            {"cutout_p", a.cutout_p},
            {"cutout_max_side", a.cutout_max_side}};
}

nlohmann::json train_config::to_json() const {
    const char *w = weighting == class_weighting::none      ? "none"
                    : weighting == class_weighting::inverse ? "inverse"
                                                            : "sqrt";
    return {{"epochs", epochs},
            {"batch", batch},
            {"lr", lr},
            {"weight_decay", weight_decay},
            {"schedule", schedule},
            {"warmup_epochs", warmup_epochs},
            {"min_lr_frac", min_lr_frac},
            {"patience", patience},
            {"seed", seed},
            {"augment", augment},
            {"class_weighting", w},
            {"optimizer", "adam"},
            {"augment_params", augment_params_json(aug)},
            {"label_smoothing", label_smoothing}};
}

NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(epoch_record, epoch, lr, train_loss, train_acc, val_loss,
                                   val_acc, images_per_s, seconds)

nlohmann::json epoch_record::to_json() const {
    return *this;
}

torch::Tensor weighted_cross_entropy(const torch::Tensor &logits, const torch::Tensor &y,
                                     const torch::Tensor &sample_weight,
                                     const torch::Tensor &class_weights, double label_smoothing) {
    const torch::Tensor ce =
        torch::nn::functional::cross_entropy(logits, y,
                                             torch::nn::functional::CrossEntropyFuncOptions()
                                                 .reduction(torch::kNone)
                                                 .label_smoothing(label_smoothing));
    torch::Tensor w = sample_weight;
    if (class_weights.defined()) w = w * class_weights.index_select(0, y);
    return (ce * w).sum() / (w.sum() + 1e-8);
}

trainer::trainer(folia_net model, const image_cache &images, train_config cfg)
    : model_(std::move(model)), images_(images), cfg_(std::move(cfg)) {
    optimizer_ = std::make_unique<torch::optim::Adam>(
        model_->parameters(), torch::optim::AdamOptions(cfg_.lr).weight_decay(cfg_.weight_decay));
}

double trainer::lr_at(int64_t step) const {
    if (cfg_.schedule == "constant") return cfg_.lr;
    const double warm = std::max(1.0, cfg_.warmup_epochs * double(steps_per_epoch_));
    const double total = std::max(warm + 1, double(cfg_.epochs) * double(steps_per_epoch_));
    if (double(step) < warm) return cfg_.lr * (double(step) + 1) / warm;
    const double t = std::min(1.0, (double(step) - warm) / (total - warm));
    const double lo = cfg_.lr * cfg_.min_lr_frac;
    return lo + (cfg_.lr - lo) * 0.5 * (1 + std::cos(M_PI * t));
}

torch::Tensor trainer::class_weights_for(const std::vector<train_item> &items) const {
    const int k = model_->arch.num_classes;
    std::vector<double> count(size_t(k), 0);
    for (const auto &it : items)
        if (it.label >= 0) count[size_t(it.label)] += 1;
    std::vector<float> w(size_t(k), 0.0f);
    double sum = 0;
    int present = 0;
    for (int c = 0; c < k; ++c) {
        if (count[size_t(c)] == 0) continue;
        double v = 1.0;
        if (cfg_.weighting == class_weighting::inverse) v = 1.0 / count[size_t(c)];
        if (cfg_.weighting == class_weighting::sqrt_inverse) v = 1.0 / std::sqrt(count[size_t(c)]);
        w[size_t(c)] = float(v);
        sum += v;
        ++present;
    }
    for (auto &v : w) v = present ? float(v * present / sum) : 1.0f;
    return torch::tensor(w);
}

train_batch trainer::make_batch(const std::vector<train_item> &items, size_t begin, size_t end,
                                int epoch) const {
    const int s = images_.size;
    const size_t per = size_t(s) * s * 3, n = end - begin;
    train_batch b;
    b.items.assign(items.begin() + long(begin), items.begin() + long(end));
    std::vector<int64_t> y(n), src(n);
    std::vector<float> w(n);
    // (n, S, S, 3) f32: row i is written once, straight from the cache (or from the augmented
    // image), so the view below is the channels-last (n, 3, S, S) input without another copy.
    torch::Tensor nhwc = torch::empty({int64_t(n), s, s, 3}, torch::kFloat32);
    float *x = nhwc.data_ptr<float>();
    for (size_t i = 0; i < n; ++i) {
        const train_item &it = b.items[i];
        const uint8_t *pixels = images_.image(size_t(it.image));
        if (cfg_.augment) {
            const uint64_t seed =
                mix_seeds(mix_seeds(cfg_.seed, uint64_t(epoch) + 1), uint64_t(it.image) + 1);
            const augment_params &ap =
                it.source >= 0 && size_t(it.source) < cfg_.aug_by_source.size()
                    ? cfg_.aug_by_source[size_t(it.source)]
                    : cfg_.aug;
            const image_u8 a = augment_image(pixels, s, s, 3, ap, seed);
            normalize_u8_into(a.data.data(), int64_t(s) * s, x + i * per);
        } else {
            normalize_u8_into(pixels, int64_t(s) * s, x + i * per);
        }
        y[i] = it.label;
        w[i] = it.weight;
        src[i] = it.source;
    }
    b.x = nhwc_to_model_input(nhwc);
    add_weak_views(b, epoch);
    b.y = torch::tensor(y);
    b.weight = torch::tensor(w);
    b.source = torch::tensor(src);
    return b;
}

void trainer::add_weak_views(train_batch &b, int epoch) const {
    if (cfg_.weak_view_source < 0) return;
    std::vector<int64_t> rows;
    for (size_t i = 0; i < b.items.size(); ++i)
        if (b.items[i].source == cfg_.weak_view_source) rows.push_back(int64_t(i));
    if (rows.empty()) return;
    const int s = images_.size;
    const size_t per = size_t(s) * s * 3;
    torch::Tensor nhwc = torch::empty({int64_t(rows.size()), s, s, 3}, torch::kFloat32);
    float *x = nhwc.data_ptr<float>();
    for (size_t j = 0; j < rows.size(); ++j) {
        const train_item &it = b.items[size_t(rows[j])];
        // Its own seed stream, so the weak view is not the strong view's random draws reused.
        const uint64_t seed = mix_seeds(
            mix_seeds(mix_seeds(cfg_.seed, 0x3EA6), uint64_t(epoch) + 1), uint64_t(it.image) + 1);
        const uint8_t *pixels = images_.image(size_t(it.image));
        if (!cfg_.augment) {
            normalize_u8_into(pixels, int64_t(s) * s, x + j * per);
            continue;
        }
        const image_u8 a = augment_image(pixels, s, s, 3, cfg_.aug, seed);
        normalize_u8_into(a.data.data(), int64_t(s) * s, x + j * per);
    }
    b.x_weak = nhwc_to_model_input(nhwc);
    b.weak_rows = torch::tensor(rows);
}

std::vector<train_item> trainer::epoch_order(const std::vector<train_item> &items,
                                             int epoch) const {
    // Our own RNG (portable); every rank shuffles identically.
    std::vector<train_item> r = items;
    splitmix64 rng(mix_seeds(cfg_.seed, 0xE90C + uint64_t(epoch)));
    for (size_t i = r.size(); i > 1; --i) std::swap(r[i - 1], r[rng.below(i)]);
    return r;
}

int64_t trainer::epoch_steps(size_t items) const {
    const size_t bs = global_batch(), ranks = dist_ ? size_t(dist_->size()) : 1;
    // Drop the last partial batch (BatchNorm statistics of a tiny batch are noise), unless
    // the set is smaller than one batch.
    int64_t steps =
        items >= bs ? int64_t(items / bs) : (items >= std::max<size_t>(2, ranks) ? 1 : 0);
    if (cfg_.max_steps_per_epoch > 0) steps = std::min(steps, cfg_.max_steps_per_epoch);
    return steps;
}

trainer::batch_rows trainer::rows_of(int64_t k, size_t items) const {
    // Global batch k is items [k*bs, k*bs + n); rank r takes rows [r*n/R, (r+1)*n/R) of it.
    const size_t bs = global_batch(), b0 = size_t(k) * bs, n = std::min(items, b0 + bs) - b0;
    const size_t ranks = dist_ ? size_t(dist_->size()) : 1, me = dist_ ? size_t(dist_->rank()) : 0;
    return {b0 + me * n / ranks, b0 + (me + 1) * n / ranks, n};
}

std::unique_ptr<prefetcher<train_batch>> trainer::epoch_batches(
    const std::vector<train_item> &order, int epoch, int64_t steps) const {
    return std::make_unique<prefetcher<train_batch>>(steps, [this, &order, epoch](int64_t k) {
        const batch_rows r = rows_of(k, order.size());
        return make_batch(order, r.begin, r.end, epoch);
    });
}

size_t trainer::global_batch() const {
    return size_t(cfg_.batch) * size_t(dist_ ? dist_->size() : 1);
}

void trainer::set_distributed(std::shared_ptr<dist_group> g, bool sync_bn) {
    dist_ = std::move(g);
    make_model_distributed(model_, dist_, sync_bn);
    reducer_ = std::make_shared<grad_reducer>(dist_, model_->parameters());
}

bool trainer::writes_files() const {
    return !dist_ || dist_->rank() == 0;
}

torch::Tensor trainer::default_loss(const loss_context &c) {
    if (!dist_)
        return weighted_cross_entropy(c.logits, c.batch.y, c.batch.weight, class_weights_,
                                      cfg_.label_smoothing);
    // The one-process loss of the global batch is sum_i w_i CE_i / sum_i w_i over all ranks'
    // rows: each rank contributes its numerator over the global denominator, times the world
    // size because grad_reducer averages (not sums) the ranks' gradients.
    const torch::Tensor ce =
        torch::nn::functional::cross_entropy(c.logits, c.batch.y,
                                             torch::nn::functional::CrossEntropyFuncOptions()
                                                 .reduction(torch::kNone)
                                                 .label_smoothing(cfg_.label_smoothing));
    const torch::Tensor w = c.batch.weight * class_weights_.index_select(0, c.batch.y);
    torch::Tensor denom = w.sum().detach().to(torch::kFloat64).reshape({1});
    dist_->allreduce_sum(denom);
    return (ce * w).sum() * (double(dist_->size()) / (denom.item<double>() + 1e-8));
}

void trainer::train_step(const train_batch &b, int epoch, double lr) {
    for (auto &g : optimizer_->param_groups())
        static_cast<torch::optim::AdamOptions &>(g.options()).lr(lr);
    torch::Tensor weak_logits;
    if (b.x_weak.defined()) {
        // FixMatch's pseudo-label view: no gradient, BatchNorm running statistics, no dropout.
        torch::NoGradGuard no_grad;
        model_->eval();
        weak_logits = model_->forward(b.x_weak);
        model_->train();
    }
    const torch::Tensor logits = model_->forward(b.x);
    const loss_context ctx{epoch, step_, b, logits, model_, class_weights_, weak_logits};
    torch::Tensor loss = loss_ ? loss_(ctx) : default_loss(ctx);
    for (auto &e : extras_) loss = loss + e(ctx);
    optimizer_->zero_grad();
    if (reducer_) reducer_->prepare();
    loss.backward();
    if (reducer_) reducer_->finish();
    optimizer_->step();
    last_loss_ = loss.item<double>();
    // Accuracy over the labeled rows only (unlabeled items, label -1, have no answer).
    last_correct_ = logits.argmax(1).eq(b.y).sum().item<double>();
    last_labeled_ = b.y.ge(0).sum().item<double>();
}

// --progress json: a "step" line at most twice a second and at an epoch's last step. eta_s
// counts this epoch's remaining steps and the remaining epochs at this epoch's step rate.
void trainer::emit_step(int epoch, int64_t k, int64_t steps, double loss, double acc, double lr,
                        const progress_bar &bar, double *last_emit) const {
    const double t = bar.elapsed_s();
    if (k + 1 < steps && *last_emit >= 0 && t - *last_emit < 0.5) return;
    *last_emit = t;
    const double per_step = t / double(k + 1);
    const double left = double(steps - k - 1) + double(cfg_.epochs - epoch - 1) * double(steps);
    emit_progress("step", {{"epoch", epoch + 1},
                           {"epochs", cfg_.epochs},
                           {"step", k + 1},
                           {"steps", steps},
                           {"global_step", step_},
                           {"loss", loss},
                           {"acc", acc},
                           {"lr", lr},
                           {"images_per_s", bar.items_per_s()},
                           {"eta_s", per_step * left}});
}

// --progress json: one "epoch" line after each epoch of fit(); eta_s assumes the remaining
// epochs take as long as the mean epoch so far (early stopping may end sooner).
void trainer::emit_epoch(const epoch_record &rec, int epoch, bool has_val, bool best) const {
    double secs = 0;
    for (const auto &h : history_) secs += h.seconds;
    const double mean = history_.empty() ? 0 : secs / double(history_.size());
    nlohmann::json j = {{"epoch", epoch + 1},
                        {"epochs", cfg_.epochs},
                        {"loss", rec.train_loss},
                        {"acc", rec.train_acc},
                        {"lr", rec.lr},
                        {"images_per_s", rec.images_per_s},
                        {"seconds", rec.seconds},
                        {"best", best},
                        {"eta_s", mean * double(cfg_.epochs - epoch - 1)}};
    if (has_val) {
        j["val_loss"] = rec.val_loss;
        j["val_acc"] = rec.val_acc;
    }
    emit_progress("epoch", j);
}

epoch_record trainer::train_epoch(const std::vector<train_item> &items_in, int epoch) {
    if (epoch_begin_cb_) epoch_begin_cb_(epoch);
    epoch_record rec;
    rec.epoch = epoch;
    if (!class_weights_.defined()) class_weights_ = class_weights_for(items_in);
    // Reseed torch (dropout) per epoch so a resumed run repeats exactly the epoch it lost.
    const std::vector<train_item> items = epoch_order(items_in, epoch);
    torch::manual_seed(mix_seeds(cfg_.seed, 0xD0 + uint64_t(epoch)));

    const size_t bs = global_batch();
    const size_t ranks = dist_ ? size_t(dist_->size()) : 1;
    const int64_t steps = epoch_steps(items.size());
    model_->train();
    rec.lr = lr_at(step_);
    progress_bar bar(fmt::format("epoch {:>3}/{}", epoch + 1, cfg_.epochs),
                     int64_t(steps) * int64_t(std::min(bs, items.size())));
    double loss_sum = 0, seen = 0, correct = 0, labeled = 0;
    double last_emit = -1;  // bar.elapsed_s() of the last "step" line
    // One worker builds the batches ahead (2 at most); it is joined when this scope ends.
    const std::unique_ptr<prefetcher<train_batch>> batches = epoch_batches(items, epoch, steps);
    for (int64_t k = 0; k < steps; ++k) {
        const train_batch b = batches->next();
        if (dist_) {
            const batch_rows r = rows_of(k, items.size());
            dist_->global_rows = int64_t(r.global);
            dist_->row_offset = int64_t(r.begin - size_t(k) * bs);
        }
        const double lr = lr_at(step_);
        train_step(b, epoch, lr);
        ++step_;
        fault_kill_at_step(step_);
        const double n = double(b.items.size());
        // A rank's loss is its share of the global batch's times the world size (default_loss),
        // so summed over ranks these terms give (global loss) x (global rows).
        loss_sum +=
            last_loss_ * (dist_ ? double(rows_of(k, items.size()).global) / double(ranks) : n);
        correct += last_correct_;
        labeled += last_labeled_;
        seen += n;
        const double acc = labeled > 0 ? correct / labeled : 0;
        if (cfg_.progress)
            bar.update(
                int64_t(seen) * int64_t(ranks),
                fmt::format(" loss {:.3f} acc {:.1f}% lr {:.2e}", loss_sum / seen, 100 * acc, lr));
        if (cfg_.progress && progress_json())
            emit_step(epoch, k, steps, loss_sum / seen, acc, lr, bar, &last_emit);
    }
    if (dist_) {
        // The epoch's figures over all ranks.
        torch::Tensor t = torch::tensor({loss_sum, correct, seen, labeled}, torch::kFloat64);
        dist_->allreduce_sum(t);
        loss_sum = t[0].item<double>();
        correct = t[1].item<double>();
        seen = t[2].item<double>();
        labeled = t[3].item<double>();
    }
    rec.train_loss = seen ? loss_sum / seen : 0;
    rec.train_acc = labeled > 0 ? correct / labeled : 0;
    rec.seconds = bar.elapsed_s();
    rec.images_per_s = rec.seconds > 0 ? seen / rec.seconds : 0;
    if (cfg_.progress)
        bar.finish(fmt::format(" loss {:.3f} acc {:.1f}%", rec.train_loss, 100 * rec.train_acc));
    return rec;
}

std::pair<double, double> trainer::validate(const std::vector<train_item> &val) {
    if (!dist_) {
        const eval_result v = evaluate(val);
        return {v.loss, v.accuracy};
    }
    // Sharded: rank r scores rows [r*n/R, (r+1)*n/R), then the sums are combined, so every
    // rank takes the same early-stopping decision.
    const size_t n = val.size(), ranks = size_t(dist_->size()), me = size_t(dist_->rank());
    const std::vector<train_item> mine(val.begin() + long(me * n / ranks),
                                       val.begin() + long((me + 1) * n / ranks));
    const eval_result v = evaluate(mine);
    const double m = double(mine.size());
    torch::Tensor t = torch::tensor({v.loss * m, v.accuracy * m, m}, torch::kFloat64);
    dist_->allreduce_sum(t);
    const double total = t[2].item<double>();
    return total > 0 ? std::make_pair(t[0].item<double>() / total, t[1].item<double>() / total)
                     : std::make_pair(0.0, 0.0);
}

eval_result trainer::evaluate(const std::vector<train_item> &items) {
    eval_result r;
    const int s = images_.size;
    const size_t per = size_t(s) * s * 3;
    std::vector<uint8_t> u8(items.size() * per);
    for (size_t i = 0; i < items.size(); ++i)
        std::memcpy(u8.data() + i * per, images_.image(size_t(items[i].image)), per);
    r.logits = predict_logits(model_, u8.data(), int64_t(items.size()), s);
    if (items.empty()) return r;
    std::vector<int64_t> y;
    for (const auto &it : items) y.push_back(it.label);
    const torch::Tensor yt = torch::tensor(y);
    r.loss = torch::nn::functional::cross_entropy(r.logits, yt).item<double>();
    r.accuracy = r.logits.argmax(1).eq(yt).to(torch::kFloat64).mean().item<double>();
    return r;
}

void trainer::write_history() const {
    nlohmann::json h = nlohmann::json::array();
    for (const auto &r : history_) h.push_back(r.to_json());
    write_file_atomic(cfg_.out_dir + "/history.json", nlohmann::json({{"config", cfg_.to_json()},
                                                                      {"best_epoch", best_epoch_},
                                                                      {"best_val_acc", best_acc_},
                                                                      {"epochs", h}})
                                                              .dump(1) +
                                                          "\n");
}

void trainer::save_state(const std::string &path, int next_epoch) const {
    nlohmann::json meta;
    meta["next_epoch"] = next_epoch;
    meta["step"] = step_;
    meta["best_acc"] = best_acc_;
    meta["best_epoch"] = best_epoch_;
    meta["config"] = cfg_.to_json();
    meta["history"] = nlohmann::json::array();
    for (const auto &h : history_) meta["history"].push_back(h.to_json());
    save_checkpoint(path, const_cast<folia_net &>(model_), optimizer_.get(), meta);
}

void trainer::write_epoch_files(int epoch, bool improved, const epoch_record &rec) {
    // best.pt first: if killed between the two writes, resume redoes this epoch.
    const std::string last = cfg_.out_dir + "/last.pt", best = cfg_.out_dir + "/best.pt";
    if (improved) {
        nlohmann::json meta = {
            {"epoch", epoch}, {"val_acc", rec.val_acc}, {"config", cfg_.to_json()}};
        save_checkpoint(best, model_, nullptr, meta);
    }
    save_state(last, epoch + 1);
    write_history();
}

// Every rank resumes from its own <out>/last.pt (shared, or copied to each machine): a rank
// that found none, or a stale one, would train from another epoch and step, silently, until a
// collective times out. All ranks compare (epoch, step) with rank 0's and stop together.
void trainer::check_same_resume_point(int start) {
    torch::Tensor mine = torch::tensor({int64_t(start), step_}, torch::kInt64);
    torch::Tensor root = mine.clone();
    dist_->broadcast(root, 0);
    torch::Tensor differs = (mine != root).any().to(torch::kInt64).reshape({1});
    dist_->allreduce_sum(differs);
    if (differs.item<int64_t>() == 0) return;
    const int64_t e0 = root[0].item<int64_t>(), s0 = root[1].item<int64_t>();
    throw std::runtime_error(
        e0 == start && s0 == step_
            ? fmt::format("--resume: another rank's last.pt differs from this one ({}/last.pt: "
                          "epoch {}, step {}): give every machine the same checkpoint",
                          cfg_.out_dir, start, step_)
            : fmt::format("--resume: the ranks' last.pt differ ({}/last.pt here: epoch {}, step "
                          "{}; rank 0's: epoch {}, step {}): give every machine the same "
                          "checkpoint",
                          cfg_.out_dir, start, step_, e0, s0));
}

std::vector<epoch_record> trainer::fit(const std::vector<train_item> &train,
                                       const std::vector<train_item> &val) {
    class_weights_ = class_weights_for(train);
    const size_t bs = global_batch();
    steps_per_epoch_ = std::max<int64_t>(1, int64_t(train.size() / bs));
    if (cfg_.max_steps_per_epoch > 0)
        steps_per_epoch_ = std::min(steps_per_epoch_, cfg_.max_steps_per_epoch);
    const std::string last = cfg_.out_dir.empty() ? "" : cfg_.out_dir + "/last.pt";
    const std::string best = cfg_.out_dir.empty() ? "" : cfg_.out_dir + "/best.pt";
    int start = 0;
    if (cfg_.resume && !last.empty()) {
        remove_stale_temps(cfg_.out_dir);
        nlohmann::json meta;
        if (load_checkpoint(last, model_, optimizer_.get(), &meta)) {
            start = meta.at("next_epoch");
            step_ = meta.at("step");
            best_acc_ = meta.at("best_acc");
            best_epoch_ = meta.at("best_epoch");
            history_.clear();
            for (const auto &h : meta.at("history")) history_.push_back(h.get<epoch_record>());
            fmt::print(stderr, "resumed from {} at epoch {} (best val acc {:.2f}% at epoch {})\n",
                       last, start + 1, 100 * best_acc_, best_epoch_ + 1);
        }
        if (dist_) check_same_resume_point(start);
    }
    // In-memory copy of the best weights, so the caller gets them even without out_dir.
    std::vector<torch::Tensor> best_state;
    auto snapshot = [&] {
        best_state.clear();
        torch::NoGradGuard ng;
        for (auto &p : model_->parameters()) best_state.push_back(p.detach().clone());
        for (auto &b : model_->buffers()) best_state.push_back(b.detach().clone());
    };
    auto restore = [&] {
        if (best_state.empty()) return;
        torch::NoGradGuard ng;
        size_t i = 0;
        for (auto &p : model_->parameters()) p.copy_(best_state[i++]);
        for (auto &b : model_->buffers()) b.copy_(best_state[i++]);
    };
    if (start > 0 && !best.empty() && std::filesystem::exists(best)) {
        folia_net tmp(model_->arch);
        load_checkpoint(best, tmp, nullptr, nullptr);
        torch::NoGradGuard ng;
        for (auto &p : tmp->parameters()) best_state.push_back(p.detach().clone());
        for (auto &b : tmp->buffers()) best_state.push_back(b.detach().clone());
    }
    bool trained = false;
    for (int epoch = start; epoch < cfg_.epochs; ++epoch) {
        if (cfg_.patience > 0 && best_epoch_ >= 0 && epoch - best_epoch_ > cfg_.patience) break;
        trained = true;
        epoch_record rec = train_epoch(train, epoch);
        if (epoch_trained_cb_) epoch_trained_cb_(epoch);
        if (!val.empty()) std::tie(rec.val_loss, rec.val_acc) = validate(val);
        history_.push_back(rec);
        const bool improved = val.empty() || rec.val_acc > best_acc_;
        if (improved) {
            best_acc_ = rec.val_acc;
            best_epoch_ = epoch;
            snapshot();
        }
        if (cfg_.progress)
            fmt::print(stderr, "epoch {:>3}: val loss {:.4f} acc {:.2f}%{}\n", epoch + 1,
                       rec.val_loss, 100 * rec.val_acc, improved ? " (best)" : "");
        if (cfg_.progress && writes_files()) emit_epoch(rec, epoch, !val.empty(), improved);
        if (!cfg_.out_dir.empty() && writes_files()) write_epoch_files(epoch, improved, rec);
        if (epoch_cb_) epoch_cb_(rec);
    }
    // Killed after last.pt but before history.json of the final epoch (the last of the cap, or
    // the one before early stopping fires): the resumed run trains nothing, so it writes
    // history.json here.
    if (!cfg_.out_dir.empty() && writes_files() && start > 0 && !trained) write_history();
    restore();
    return history_;
}

}  // namespace folia::train
