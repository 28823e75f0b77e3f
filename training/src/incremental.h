// incremental.h: the incremental learner: learn_incremental(new_data, config) -> result,
// with four strategies behind one interface (LibTorch):
//   finetune   train on the new data only (the naive lower bound);
//   lwf        Learning without Forgetting (Li & Hoiem 2016): + alpha * KL(q_old || p_new) on the
//              OLD outputs at temperature T, q_old from a frozen copy of the model as it was
//              before this experience, on the same (augmented) new-data batch. As Avalanche's
//              LwFPlugin: kl_div(log_softmax(new/T), softmax(old/T), "batchmean"), no T^2;
//   ewc        Elastic Weight Consolidation (Kirkpatrick et al. 2017), Avalanche's "separate"
//              mode: + lambda * sum_e sum_i F_e,i (theta_i - theta*_e,i)^2 with F_e the
//              diagonal empirical Fisher on experience e's training data, theta*_e the weights
//              after e; outputs added later are not penalised (old rows only);
//   rehearsal  a memory of `memory_per_class` training images per old class (herding, random
//              or distance selection on the model's pooled features), replayed with the new data;
//              or (memory_total > 0) iCaRL's fixed total memory of K images shared by the seen
//              classes (memory_budget_split), the old sets cut to their selection-order prefix
//              when new classes arrive. Rehearsal also keeps iCaRL's nearest-mean-of-exemplars
//              classifier (nme_means below). With weight_aligning, Weight Aligning (Zhao et
//              al. 2020) corrects the output layer's bias towards the new classes after each
//              step (weight_align below); with rehearsal_distill, LwF's distillation term
//              is added on the batches of new images and exemplars; with
//              balanced_finetune_epochs, EEIL's balanced fine-tuning on the memory follows.
// The output layer grows when new classes arrive (folia_net::grow_classes keeps the old fc2
// rows, so old logits are unchanged); a fresh Adam is made per experience.
//
// Data of an experience are train_items whose labels are MODEL outputs (see
// incremental-protocol.h). A learner built on a model that already learned an experience
// elsewhere (the shared base model of the protocol) takes that experience's post-training step
// with consolidate(): EWC's Fisher, the rehearsal memory.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "incremental-exemplars.h"
#include "trainer.h"

namespace folia::train {

struct incremental_config {
    train_config train;  // epochs, lr, batch... for this experience (out_dir "" is usual)
    // LwF
    double lwf_alpha = 1.0;
    double lwf_temperature = 2.0;
    // EWC
    double ewc_lambda = 100.0;
    int fisher_samples = 0;  // 0 = every training image of the experience
    int fisher_batch = 1;    // 1 = exact per-sample empirical Fisher; b > 1: squared mean
                             // gradient of b-sample groups (Avalanche's minibatch estimate)
    // Rehearsal
    int memory_per_class = 20;
    int memory_total = 0;  // > 0: a total budget shared by the seen classes (per-class unused)
    exemplar_selection selection = exemplar_selection::herding;
    bool weight_aligning = false;  // rehearsal: weight_align() after each step's training
    // Rehearsal: + alpha * LwF's distillation term (lwf_temperature) on its batches of new
    // images and exemplars, as iCaRL and WA's full method do; 0 = off.
    double rehearsal_distill = 0;
    // Rehearsal: EEIL's balanced fine-tuning (Castro et al. 2018): after each step (not the
    // base), this many epochs on the memory alone, where every seen class has its exemplar
    // budget, at train.lr * balanced_finetune_lr_frac, constant, no class weights; then the
    // NME means are taken again. 0 = off. With weight_aligning it retrains the layer WA has
    // just aligned (no script combines them).
    int balanced_finetune_epochs = 0;
    double balanced_finetune_lr_frac = 0.1;
    // EEIL's temporary distillation during that pass: + alpha * distillation_loss on the
    // step's NEW outputs only [old outputs, N), from a frozen copy of the model as the step
    // left it (lwf_temperature), so that the pass keeps what the new classes' many images
    // taught while it rebalances old against new. 0 = off.
    double balanced_finetune_distill = 0;
    // Logit adjustment (Menon et al. 2021; Ren et al. 2020's balanced softmax at tau = 1): the
    // step's loss is the cross-entropy of logits + tau * log(prior), prior = the class
    // frequencies of the step's training set (new images and replayed exemplars), with no class
    // weights (the prior takes their place). A class the new data outnumber must then earn its
    // logit without the head's bias towards it; at test time the logits are used as they are.
    // Every strategy; 0 = off (the default loss, class-weighted).
    double logit_adjust = 0;
    uint64_t seed = 1;  // growth init, Fisher subsample, random selection
    nlohmann::json to_json() const;
};

struct new_data {
    std::vector<train_item> train;  // labels are model outputs
    int num_outputs = 0;            // outputs the model must have after this experience
};

struct incremental_result {
    int experience = 0;  // 0-based count of experiences this learner has learned
    int num_outputs = 0;
    int64_t train_images = 0;  // images per epoch (new data + replayed memory)
    int memory_size = 0;       // rehearsal memory after the experience
    double seconds = 0;
    std::vector<epoch_record> history;
    nlohmann::json extra = nlohmann::json::object();  // strategy-specific figures
    nlohmann::json to_json() const;
};

class incremental_learner {
  public:
    incremental_learner(folia_net model, const image_cache &images);
    virtual ~incremental_learner() = default;
    virtual std::string name() const = 0;

    // Grows the output layer to data.num_outputs, trains on the experience with the strategy's
    // additions, then consolidate()s it.
    incremental_result learn_incremental(const new_data &data, const incremental_config &cfg);
    // The post-training step for an experience the model has just learned (see above).
    virtual void consolidate(const new_data &data, const incremental_config &cfg) {
        (void)data, (void)cfg;
        ++experiences_;
    }

    // iCaRL's NME classifier after the last consolidate(): one L2-normalised mean per output
    // (empty = no mean: the class is never predicted); an empty list = the strategy has none.
    // Rehearsal: for the classes of the experience just consolidated, the mean over all its
    // training images (iCaRL: their data is available); for older classes, over their
    // exemplars; features of the current model in both cases (nme_class_mean).
    virtual const std::vector<std::vector<float>> &nme_means() const { return no_means_; }
    // Rehearsal's memory, label -> exemplars in selection order (empty for the others).
    virtual std::map<int, std::vector<train_item>> exemplar_sets() const { return {}; }

    folia_net &model() { return model_; }
    const image_cache &images() const { return images_; }
    int experiences() const { return experiences_; }

  protected:
    // Hooks around the trainer: the training set (rehearsal adds its memory) and extra losses.
    virtual std::vector<train_item> training_set(const new_data &data) { return data.train; }
    virtual void prepare(trainer &t, const new_data &data, const incremental_config &cfg,
                         int old_outputs) {
        (void)t, (void)data, (void)cfg, (void)old_outputs;
    }
    // After training, before consolidate(): strategy figures into r.extra.
    virtual void after_fit(incremental_result &r, const incremental_config &cfg) {
        (void)r, (void)cfg;
    }
    // After consolidate(): figures of the consolidation into r.extra.
    virtual void after_consolidate(incremental_result &r) { (void)r; }
    virtual int memory_size() const { return 0; }

    folia_net model_;
    const image_cache &images_;
    int experiences_ = 0;

  private:
    std::vector<std::vector<float>> no_means_;
};

// "finetune", "lwf", "ewc", "rehearsal" (the rehearsal selection comes from the config).
std::unique_ptr<incremental_learner> make_learner(const std::string &strategy, folia_net model,
                                                  const image_cache &images);

// ---- the pieces, exposed for tests -------------------------------------------------------

// A deep copy (parameters and buffers) with the same architecture, channels-last weights.
folia_net clone_model(folia_net &model);

// Avalanche LwF: kl_div(log_softmax(new[:, :K]/T), softmax(old/T), batchmean), K = old.size(1).
// new_logits (B, K_new >= K), old_logits (B, K). Differentiable w.r.t. new_logits.
torch::Tensor distillation_loss(const torch::Tensor &new_logits, const torch::Tensor &old_logits,
                                double temperature);

using named_tensors = std::map<std::string, torch::Tensor>;

// Diagonal empirical Fisher of `params` (name -> leaf tensor requiring grad): the mean over
// groups of the squared gradient of group_nll(begin, end), the mean negative log-likelihood of
// samples [begin, end); groups of `group` consecutive samples, n samples in all.
named_tensors fisher_diagonal(const named_tensors &params, int64_t n, int64_t group,
                              const std::function<torch::Tensor(int64_t, int64_t)> &group_nll);

// The Fisher of a folia_net on training items (eval mode: running BN statistics, no dropout,
// no augmentation), on at most max_samples of them (a seeded subsample; 0 = all).
named_tensors fisher_of_model(folia_net &model, const image_cache &images,
                              const std::vector<train_item> &items, int max_samples, int group,
                              uint64_t seed);

// sum_i F_i (theta_i - theta*_i)^2, each current tensor sliced along dim 0 to the saved shape
// (outputs grown later are free).
torch::Tensor ewc_penalty(const named_tensors &current, const named_tensors &fisher,
                          const named_tensors &saved);

named_tensors named_parameters_of(folia_net &model);

// log(n_c / n) per output c < num_outputs over the items' labels, n_c clamped to >= 1 so that
// an output without items gets a finite (the lowest) prior. (num_outputs) f32.
torch::Tensor class_log_prior(const std::vector<train_item> &items, int num_outputs);

// sum_i w_i CE(logits_i + tau * log_prior, y_i) / sum_i w_i: logits (B, K), y (B) i64, weight
// (B) f32, log_prior (K). Differentiable w.r.t. logits.
torch::Tensor logit_adjusted_loss(const torch::Tensor &logits, const torch::Tensor &y,
                                  const torch::Tensor &weight, const torch::Tensor &log_prior,
                                  double tau);

// Weight Aligning (Zhao et al. 2020): gamma = mean_{c < old} |W_c| / mean_{c >= old} |W_c| over
// fc2's weight rows; the rows (and biases) of the new outputs c >= old are multiplied by gamma,
// so every new logit is scaled by gamma and the new classes' norms match the old ones on
// average. Returns gamma (1, nothing changed, when there are no old or no new outputs).
double weight_align(folia_net &model, int old_outputs);

// Pooled features (N, C_last) of the given cache images, eval mode, no augmentation.
std::vector<float> extract_features(folia_net &model, const image_cache &images,
                                    const std::vector<int32_t> &image_indices, int *dim);

// NME accuracy (nme_predict on extract_features) of items against per-output class means.
double nme_accuracy(folia_net &model, const image_cache &images,
                    const std::vector<std::vector<float>> &means,
                    const std::vector<train_item> &items);

}  // namespace folia::train
