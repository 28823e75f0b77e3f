// trainer.h: the supervised epoch loop, reusable by the SSL and incremental tools.
//
// Data: a training set is a list of train_item (an image of an image_cache, a label, a
// per-sample weight and a source tag). Pseudo-labels are items with label = y_hat, weight =
// confidence, source = 1; rehearsal exemplars are items too. Each batch is augmented with the
// shared folia::augment_image (seed = f(run seed, epoch, item)), normalised, channels-last.
//
// Loss: by default the class-weighted cross-entropy sum_i w_i c_{y_i} CE_i / sum_i w_i c_{y_i}
// (c = class weights, w = item weights). set_loss() replaces it (SSL: CE on source 0 plus
// lambda * ramp(epoch) * confidence-weighted CE on source 1); add_extra_loss() adds terms
// (LwF distillation, EWC penalty). Hooks get the batch, the logits and the model.
//
// Schedule: per-step LR, linear warmup then cosine decay to min_lr_frac * peak (or constant).
// Early stopping on validation accuracy; the best weights are kept. Checkpoints are written
// atomically after every epoch; fit() with resume = true continues from the last one.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "folia/augment.h"
#include "image-cache.h"
#include "model.h"
#include "options.h"
#include "prefetch.h"

namespace folia::train {

class dist_group;    // dist.h
class grad_reducer;  // dist.h
class progress_bar;  // progress.h

struct train_item {
    int32_t image = 0;    // index into the image_cache
    int32_t label = 0;    // target class
    float weight = 1.0f;  // per-sample weight (pseudo-label confidence, ...)
    int32_t source = 0;   // 0 = labeled; callers define others (1 = pseudo-labeled, ...)
};

// Items for every sample of the given indices, with the dataset's labels.
std::vector<train_item> items_for(const dataset &d, const std::vector<int> &indices);

enum class class_weighting { none, sqrt_inverse, inverse };
class_weighting parse_class_weighting(const std::string &s);  // "none", "sqrt", "inverse"

// Every field, for the results files.
nlohmann::json augment_params_json(const augment_params &a);

struct train_config {
    int epochs = 30;
    int batch = 32;
    double lr = 1e-4;                 // peak LR (after warmup)
    double weight_decay = 1e-4;       // Adam's L2 (torch.optim.Adam semantics)
    std::string schedule = "cosine";  // "cosine" (warmup + cosine) or "constant"
    double warmup_epochs = 1.0;
    double min_lr_frac = 0.02;  // cosine floor, as a fraction of lr
    int patience = 8;           // early stopping: epochs without a val accuracy gain; 0 = off
    uint64_t seed = 42;
    bool augment = true;
    augment_params aug;
    // Per item source (e.g. the data folder in folia-train): items whose source indexes this
    // list use its parameters instead of `aug` (lab photos the lab recipe, field photos more).
    std::vector<augment_params> aug_by_source;
    class_weighting weighting = class_weighting::sqrt_inverse;
    double label_smoothing = 0.0;     // of the default loss's targets (0: plain cross-entropy)
    int64_t max_steps_per_epoch = 0;  // 0 = all (smoke tests cap it)
    // Consistency training (FixMatch): items of this source also get a second, weakly augmented
    // view (`aug`, its own seed; their first view uses aug_by_source; the plain image when
    // augment is off), scored by the model in eval mode without gradient before the step:
    // loss_context::weak_logits. -1 = none.
    int weak_view_source = -1;
    std::string out_dir;  // checkpoints (last.pt, best.pt) and history.json; "" = none
    bool resume = false;
    bool progress = true;
    nlohmann::json to_json() const;
};

// The shared command-line knobs (options.h) as a train_config: epochs, batch, lr, weight decay,
// schedule, warmup, cosine floor, patience, class weighting, step cap. Everything else (seed,
// augmentation, out_dir, resume, progress) keeps train_config's defaults for the caller to set.
train_config config_from_options(const fit_options &o);

struct train_batch {
    torch::Tensor x;       // (B,3,S,S) f32 channels-last, normalised
    torch::Tensor y;       // (B) i64
    torch::Tensor weight;  // (B) f32 item weights
    torch::Tensor source;  // (B) i64
    std::vector<train_item> items;
    torch::Tensor x_weak;     // (M,3,S,S) f32: the weak views (train_config::weak_view_source)
    torch::Tensor weak_rows;  // (M) i64: the batch rows they belong to; undefined when M = 0
};

struct loss_context {
    int epoch;     // 0-based
    int64_t step;  // global step
    const train_batch &batch;
    const torch::Tensor &logits;  // (B, num_classes)
    folia_net &model;
    const torch::Tensor &class_weights;  // (num_classes) f32
    torch::Tensor weak_logits;  // (M, num_classes) f32 of batch.x_weak, no gradient; or undefined
};
using loss_fn = std::function<torch::Tensor(const loss_context &)>;

// The default loss (see above), usable inside custom ones.
torch::Tensor weighted_cross_entropy(const torch::Tensor &logits, const torch::Tensor &y,
                                     const torch::Tensor &sample_weight,
                                     const torch::Tensor &class_weights,
                                     double label_smoothing = 0.0);

struct epoch_record {
    int epoch = 0;
    double lr = 0, train_loss = 0, train_acc = 0, val_loss = 0, val_acc = 0;
    double images_per_s = 0, seconds = 0;
    nlohmann::json to_json() const;
};

struct eval_result {
    torch::Tensor logits;  // (N, K) f32
    double loss = 0, accuracy = 0;
};

class trainer {
  public:
    trainer(folia_net model, const image_cache &images, train_config cfg);

    void set_loss(loss_fn f) { loss_ = std::move(f); }
    void add_extra_loss(loss_fn f) { extras_.push_back(std::move(f)); }
    // Data-parallel training as one of g->size() ranks (dist.h): from now on each step trains
    // on this rank's slice of the global batch of size() x cfg.batch items (the same shuffled
    // order everywhere), gradients are averaged over ranks, BatchNorm uses the global batch's
    // statistics (sync_bn), dropout masks are drawn per global batch, validation is sharded,
    // and only rank 0 writes files (checkpoints, history). The default loss is then exactly
    // the one-process loss of the global batch; a set_loss() / add_extra_loss() term is
    // averaged over ranks (exact for per-sample means over equal local batches).
    void set_distributed(std::shared_ptr<dist_group> g, bool sync_bn = true);
    bool writes_files() const;

    // Called as every epoch starts, before its first forward pass (the weights, BatchNorm
    // statistics included, are the previous epoch's end, or the resumed checkpoint's).
    void on_epoch_begin(std::function<void(int epoch)> f) { epoch_begin_cb_ = std::move(f); }
    // Called when an epoch's training steps are done, before validation and its checkpoint
    // (a kill after it repeats the epoch on --resume, so what it writes is redone, not lost).
    void on_epoch_trained(std::function<void(int epoch)> f) { epoch_trained_cb_ = std::move(f); }
    // Called after every epoch (after the checkpoint is written).
    void on_epoch_end(std::function<void(const epoch_record &)> f) { epoch_cb_ = std::move(f); }

    // The full loop: epochs with schedule, validation, early stopping, checkpoints. Returns the
    // history; afterwards model() holds the BEST weights (by val accuracy; the last ones if
    // val is empty).
    std::vector<epoch_record> fit(const std::vector<train_item> &train,
                                  const std::vector<train_item> &val);

    // One pass over items (shuffled, augmented if configured) at the schedule's LR.
    epoch_record train_epoch(const std::vector<train_item> &items, int epoch);
    eval_result evaluate(const std::vector<train_item> &items);

    folia_net &model() { return model_; }
    torch::optim::Adam &optimizer() { return *optimizer_; }
    const train_config &config() const { return cfg_; }
    const std::vector<epoch_record> &history() const { return history_; }
    double lr_at(int64_t step) const;
    // Class weights for a training set under cfg.weighting (mean 1 over present classes;
    // unlabeled items, label < 0, are not counted).
    torch::Tensor class_weights_for(const std::vector<train_item> &items) const;
    train_batch make_batch(const std::vector<train_item> &items, size_t begin, size_t end,
                           int epoch) const;
    // An epoch's item order (a seeded shuffle of items) and its optimiser steps.
    std::vector<train_item> epoch_order(const std::vector<train_item> &items, int epoch) const;
    int64_t epoch_steps(size_t items) const;
    // The epoch's batches (this rank's rows of global batch k = make_batch on order) from one
    // persistent prefetch worker, in order: what train_epoch consumes. `order` must outlive it.
    std::unique_ptr<prefetcher<train_batch>> epoch_batches(const std::vector<train_item> &order,
                                                           int epoch, int64_t steps) const;

  private:
    struct batch_rows {
        size_t begin, end, global;  // this rank's rows of the global batch, its size
    };
    batch_rows rows_of(int64_t k, size_t items) const;
    void add_weak_views(train_batch &b, int epoch) const;  // cfg.weak_view_source's rows
    void check_same_resume_point(int start);               // distributed --resume
    void save_state(const std::string &path, int next_epoch) const;
    torch::Tensor default_loss(const loss_context &c);
    void train_step(const train_batch &b, int epoch, double lr);
    std::pair<double, double> validate(const std::vector<train_item> &val);  // loss, accuracy
    void write_epoch_files(int epoch, bool improved, const epoch_record &rec);
    size_t global_batch() const;
    void emit_step(int epoch, int64_t k, int64_t steps, double loss, double acc, double lr,
                   const progress_bar &bar, double *last_emit) const;
    void emit_epoch(const epoch_record &rec, int epoch, bool has_val, bool best) const;
    void write_history() const;  // <out_dir>/history.json
    folia_net model_;
    const image_cache &images_;
    train_config cfg_;
    std::unique_ptr<torch::optim::Adam> optimizer_;
    loss_fn loss_;
    std::vector<loss_fn> extras_;
    std::function<void(int)> epoch_begin_cb_, epoch_trained_cb_;
    std::function<void(const epoch_record &)> epoch_cb_;
    std::vector<epoch_record> history_;
    torch::Tensor class_weights_;
    int64_t steps_per_epoch_ = 1, step_ = 0;
    double best_acc_ = -1;
    int best_epoch_ = -1;
    std::shared_ptr<dist_group> dist_;
    std::shared_ptr<grad_reducer> reducer_;
    double last_loss_ = 0, last_correct_ = 0, last_labeled_ = 0;  // last train_step, this rank
};

}  // namespace folia::train
