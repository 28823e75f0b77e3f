// incremental.cpp: the learner and its four strategies (LibTorch).
#include "incremental.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <chrono>
#include <cstring>
#include <set>
#include <stdexcept>

#include "split.h"

namespace folia::train {

namespace {

// (N, S, S, 3) u8 of the given cache images, packed.
std::vector<uint8_t> gather_images(const image_cache &images, const std::vector<int32_t> &idx,
                                   size_t begin, size_t end) {
    const size_t per = size_t(images.size) * images.size * 3;
    std::vector<uint8_t> u8((end - begin) * per);
    for (size_t i = begin; i < end; ++i)
        std::memcpy(u8.data() + (i - begin) * per, images.image(size_t(idx[i])), per);
    return u8;
}

}  // namespace

nlohmann::json incremental_config::to_json() const {
    nlohmann::json j = {{"train", train.to_json()},
                        {"lwf_alpha", lwf_alpha},
                        {"lwf_temperature", lwf_temperature},
                        {"ewc_lambda", ewc_lambda},
                        {"fisher_samples", fisher_samples},
                        {"fisher_batch", fisher_batch},
                        {"memory_per_class", memory_per_class},
                        {"selection", exemplar_selection_name(selection)},
                        {"seed", seed}};
    if (memory_total > 0) j["memory_total"] = memory_total;
    if (weight_aligning) j["weight_aligning"] = true;
    if (rehearsal_distill > 0) j["rehearsal_distill"] = rehearsal_distill;
    if (balanced_finetune_epochs > 0) {
        j["balanced_finetune_epochs"] = balanced_finetune_epochs;
        j["balanced_finetune_lr_frac"] = balanced_finetune_lr_frac;
        if (balanced_finetune_distill > 0)
            j["balanced_finetune_distill"] = balanced_finetune_distill;
    }
    if (logit_adjust > 0) j["logit_adjust"] = logit_adjust;
    return j;
}

torch::Tensor class_log_prior(const std::vector<train_item> &items, int num_outputs) {
    std::vector<double> n(size_t(std::max(0, num_outputs)), 0.0);
    for (const auto &it : items)
        if (it.label >= 0 && it.label < num_outputs) n[size_t(it.label)] += 1;
    double total = 0;
    for (double &c : n) total += (c = std::max(c, 1.0));
    torch::Tensor r = torch::empty({int64_t(n.size())});
    for (size_t c = 0; c < n.size(); ++c) r[int64_t(c)] = float(std::log(n[c] / total));
    return r;
}

torch::Tensor logit_adjusted_loss(const torch::Tensor &logits, const torch::Tensor &y,
                                  const torch::Tensor &weight, const torch::Tensor &log_prior,
                                  double tau) {
    return weighted_cross_entropy(logits + tau * log_prior.to(logits.dtype()).unsqueeze(0), y,
                                  weight, torch::Tensor());
}

double weight_align(folia_net &model, int old_outputs) {
    torch::NoGradGuard ng;
    const torch::Tensor w = model->fc2->weight, b = model->fc2->bias;  // (N, hidden), (N)
    const int64_t n = w.size(0);
    if (old_outputs <= 0 || old_outputs >= n) return 1.0;
    const torch::Tensor norms = w.norm(2, 1);  // (N)
    const double gamma = norms.slice(0, 0, old_outputs).mean().item<double>() /
                         norms.slice(0, old_outputs, n).mean().item<double>();
    w.slice(0, old_outputs, n).mul_(gamma);
    b.slice(0, old_outputs, n).mul_(gamma);
    return gamma;
}

nlohmann::json incremental_result::to_json() const {
    nlohmann::json h = nlohmann::json::array();
    for (const auto &e : history) h.push_back(e.to_json());
    return {{"experience", experience},
            {"num_outputs", num_outputs},
            {"train_images", train_images},
            {"memory_size", memory_size},
            {"seconds", seconds},
            {"epochs", h},
            {"extra", extra}};
}

// ---- pieces ------------------------------------------------------------------------------

named_tensors named_parameters_of(folia_net &model) {
    named_tensors r;
    for (const auto &p : model->named_parameters()) r[p.key()] = p.value();
    return r;
}

folia_net clone_model(folia_net &model) {
    folia_net c(model->arch, float(model->dropout->options.p()));
    torch::NoGradGuard ng;
    const auto src_p = model->named_parameters();
    for (auto &p : c->named_parameters()) p.value().copy_(src_p[p.key()]);
    const auto src_b = model->named_buffers();
    for (auto &b : c->named_buffers()) b.value().copy_(src_b[b.key()]);
    to_channels_last(c);
    c->train(model->is_training());
    return c;
}

torch::Tensor distillation_loss(const torch::Tensor &new_logits, const torch::Tensor &old_logits,
                                double temperature) {
    const int64_t k = old_logits.size(1);
    if (new_logits.size(1) < k)
        throw std::invalid_argument("distillation: fewer new outputs than old");
    namespace F = torch::nn::functional;
    const torch::Tensor log_p = torch::log_softmax(new_logits.slice(1, 0, k) / temperature, 1);
    const torch::Tensor q = torch::softmax(old_logits / temperature, 1);
    return F::kl_div(log_p, q, F::KLDivFuncOptions().reduction(torch::kBatchMean));
}

named_tensors fisher_diagonal(const named_tensors &params, int64_t n, int64_t group,
                              const std::function<torch::Tensor(int64_t, int64_t)> &group_nll) {
    if (group < 1) throw std::invalid_argument("fisher_diagonal: group must be >= 1");
    std::vector<std::string> names;
    std::vector<torch::Tensor> leaves;
    named_tensors acc;
    for (const auto &[name, p] : params) {
        names.push_back(name);
        leaves.push_back(p);
        acc[name] =
            torch::zeros(p.sizes(), p.options().memory_format(torch::MemoryFormat::Contiguous));
    }
    int64_t groups = 0;
    for (int64_t b = 0; b < n; b += group) {
        const torch::Tensor loss = group_nll(b, std::min(n, b + group));
        // autograd::grad leaves .grad alone, so a trainer's accumulated gradients are untouched.
        const auto grads = torch::autograd::grad({loss}, leaves, {}, false, false, true);
        torch::NoGradGuard ng;
        for (size_t i = 0; i < leaves.size(); ++i)
            if (grads[i].defined()) acc[names[i]].add_(grads[i].square());
        ++groups;
    }
    if (groups > 0)
        for (auto &[name, t] : acc) t.div_(double(groups));
    return acc;
}

named_tensors fisher_of_model(folia_net &model, const image_cache &images,
                              const std::vector<train_item> &items, int max_samples, int group,
                              uint64_t seed) {
    std::vector<int> pick(items.size());
    for (size_t i = 0; i < items.size(); ++i) pick[i] = int(i);
    if (max_samples > 0 && size_t(max_samples) < items.size()) {
        pick = random_selection(int(items.size()), max_samples, seed);
        std::sort(pick.begin(), pick.end());
    }
    std::vector<int32_t> idx;
    std::vector<int64_t> y;
    for (int i : pick) {
        idx.push_back(items[size_t(i)].image);
        y.push_back(items[size_t(i)].label);
    }
    const bool was = model->is_training();
    model->eval();
    const named_tensors params = named_parameters_of(model);
    named_tensors f =
        fisher_diagonal(params, int64_t(idx.size()), group, [&](int64_t b, int64_t e) {
            const std::vector<uint8_t> u8 = gather_images(images, idx, size_t(b), size_t(e));
            const torch::Tensor x = normalize_u8_batch(u8.data(), e - b, images.size);
            const torch::Tensor yt =
                torch::tensor(std::vector<int64_t>(y.begin() + b, y.begin() + e));
            return torch::nn::functional::cross_entropy(model->forward(x), yt);
        });
    model->train(was);
    return f;
}

torch::Tensor ewc_penalty(const named_tensors &current, const named_tensors &fisher,
                          const named_tensors &saved) {
    torch::Tensor total = torch::zeros({});
    for (const auto &[name, f] : fisher) {
        const auto cur = current.find(name);
        const auto old = saved.find(name);
        if (cur == current.end() || old == saved.end())
            throw std::runtime_error("EWC: no parameter '" + name + "' in the model");
        torch::Tensor c = cur->second;
        if (c.dim() > 0 && c.size(0) > old->second.size(0)) c = c.slice(0, 0, old->second.size(0));
        total = total + (f * (c - old->second).square()).sum();
    }
    return total;
}

std::vector<float> extract_features(folia_net &model, const image_cache &images,
                                    const std::vector<int32_t> &idx, int *dim) {
    torch::NoGradGuard ng;
    const bool was = model->is_training();
    model->eval();
    std::vector<float> out;
    int d = model->arch.channels.back();
    for (size_t b = 0; b < idx.size(); b += 128) {
        const size_t e = std::min(idx.size(), b + 128);
        const std::vector<uint8_t> u8 = gather_images(images, idx, b, e);
        const torch::Tensor f =
            model->features(normalize_u8_batch(u8.data(), int64_t(e - b), images.size))
                .contiguous();
        d = int(f.size(1));
        out.insert(out.end(), f.data_ptr<float>(), f.data_ptr<float>() + f.numel());
    }
    model->train(was);
    if (dim) *dim = d;
    return out;
}

double nme_accuracy(folia_net &model, const image_cache &images,
                    const std::vector<std::vector<float>> &means,
                    const std::vector<train_item> &items) {
    if (items.empty()) return 0;
    std::vector<int32_t> idx;
    for (const auto &it : items) idx.push_back(it.image);
    int d = 0;
    const std::vector<float> f = extract_features(model, images, idx, &d);
    const std::vector<int> pred = nme_predict(means, f, int(idx.size()), d);
    int64_t correct = 0;
    for (size_t i = 0; i < items.size(); ++i) correct += pred[i] == items[i].label;
    return double(correct) / double(items.size());
}

// ---- the learner -------------------------------------------------------------------------

incremental_learner::incremental_learner(folia_net model, const image_cache &images)
    : model_(std::move(model)), images_(images) {}

incremental_result incremental_learner::learn_incremental(const new_data &data,
                                                          const incremental_config &cfg) {
    const int old_outputs = model_->arch.num_classes;
    if (data.num_outputs < old_outputs)
        throw std::invalid_argument(
            fmt::format("{}: the model has {} outputs, the experience asks "
                        "for {} (outputs never shrink)",
                        name(), old_outputs, data.num_outputs));
    for (const auto &it : data.train)
        if (it.label < 0 || it.label >= data.num_outputs)
            throw std::invalid_argument(fmt::format("{}: label {} outside the {} outputs", name(),
                                                    it.label, data.num_outputs));
    if (data.train.empty())
        throw std::invalid_argument(name() + ": the experience has no training data");
    if (data.num_outputs > old_outputs) {
        // New rows get LibTorch's default Linear init from a seeded generator.
        torch::manual_seed(mix_seeds(cfg.seed, 0x6E0 + uint64_t(experiences_)));
        model_->grow_classes(data.num_outputs);
    }
    const auto t0 = std::chrono::steady_clock::now();
    const std::vector<train_item> items = training_set(data);
    trainer t(model_, images_, cfg.train);  // fresh Adam over the (grown) parameters
    prepare(t, data, cfg, old_outputs);
    incremental_result r;
    if (cfg.logit_adjust > 0) {
        const torch::Tensor log_prior = class_log_prior(items, data.num_outputs);  // (N)
        const double tau = cfg.logit_adjust;
        t.set_loss([log_prior, tau](const loss_context &ctx) {
            return logit_adjusted_loss(ctx.logits, ctx.batch.y, ctx.batch.weight, log_prior, tau);
        });
        r.extra["logit_adjust"] = tau;
    }
    r.history = t.fit(items, {});
    r.experience = experiences_;
    r.num_outputs = model_->arch.num_classes;
    r.train_images = int64_t(items.size());
    after_fit(r, cfg);
    consolidate(data, cfg);
    after_consolidate(r);
    r.memory_size = memory_size();
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return r;
}

namespace {

class finetune_learner : public incremental_learner {
  public:
    using incremental_learner::incremental_learner;
    std::string name() const override { return "finetune"; }
};

// LwF's term, + alpha * distillation_loss(new logits, frozen old model's logits) on every
// training batch: LwF's whole addition, rehearsal's optional knowledge distillation, and (on
// a range of outputs) EEIL's distillation during balanced fine-tuning.
class distiller {
  public:
    // model is copied as it is now (before the step); nothing is added before any experience.
    void install(trainer &t, folia_net &model, int experiences, int old_outputs, double alpha,
                 double temperature) {
        sum_ = 0;
        steps_ = 0;
        if (experiences == 0) return;
        install_range(t, model, 0, old_outputs, alpha, temperature);
    }
    // The term on outputs [lo, hi) only, against a copy of model as it is now; none if empty.
    void install_range(trainer &t, folia_net &model, int64_t lo, int64_t hi, double alpha,
                       double temperature) {
        sum_ = 0;
        steps_ = 0;
        if (lo >= hi || alpha == 0) return;
        old_ = std::make_shared<folia_net>(clone_model(model));
        (*old_)->eval();
        auto old = old_;
        t.add_extra_loss([this, old, lo, hi, alpha, temperature](const loss_context &ctx) {
            torch::Tensor old_logits;  // (B, hi - lo)
            {
                torch::NoGradGuard ng;
                old_logits = (*old)->forward(ctx.batch.x).slice(1, lo, hi);
            }
            torch::Tensor d =
                distillation_loss(ctx.logits.slice(1, lo, hi), old_logits, temperature);
            sum_ += d.item<double>();
            ++steps_;
            return alpha * d;
        });
    }
    double mean_loss() const { return steps_ ? sum_ / double(steps_) : 0.0; }
    void reset() { old_.reset(); }

  private:
    std::shared_ptr<folia_net> old_;
    double sum_ = 0;
    int64_t steps_ = 0;
};

class lwf_learner : public incremental_learner {
  public:
    using incremental_learner::incremental_learner;
    std::string name() const override { return "lwf"; }

  protected:
    void prepare(trainer &t, const new_data &, const incremental_config &cfg,
                 int old_outputs) override {
        kd_.install(t, model_, experiences_, old_outputs, cfg.lwf_alpha, cfg.lwf_temperature);
    }
    void after_fit(incremental_result &r, const incremental_config &cfg) override {
        r.extra["lwf_alpha"] = cfg.lwf_alpha;
        r.extra["lwf_temperature"] = cfg.lwf_temperature;
        r.extra["mean_distillation_loss"] = kd_.mean_loss();
        kd_.reset();
    }

  private:
    distiller kd_;
};

class ewc_learner : public incremental_learner {
  public:
    using incremental_learner::incremental_learner;
    std::string name() const override { return "ewc"; }
    void consolidate(const new_data &data, const incremental_config &cfg) override {
        named_tensors f =
            fisher_of_model(model_, images_, data.train, cfg.fisher_samples, cfg.fisher_batch,
                            mix_seeds(cfg.seed, 0xF15 + uint64_t(experiences_)));
        named_tensors saved;
        for (const auto &[name, p] : named_parameters_of(model_)) saved[name] = p.detach().clone();
        double sum = 0, mx = 0;
        for (const auto &[name, t] : f) {
            sum += t.sum().item<double>();
            mx = std::max(mx, t.max().item<double>());
        }
        fisher_stats_.push_back({{"experience", experiences_}, {"sum", sum}, {"max", mx}});
        fishers_.push_back(std::move(f));
        saved_.push_back(std::move(saved));
        ++experiences_;
    }

  protected:
    void prepare(trainer &t, const new_data &, const incremental_config &cfg, int) override {
        pen_sum_ = 0;
        pen_steps_ = 0;
        if (fishers_.empty() || cfg.ewc_lambda == 0) return;
        const double lambda = cfg.ewc_lambda;
        t.add_extra_loss([this, lambda](const loss_context &ctx) {
            const named_tensors cur = named_parameters_of(ctx.model);
            torch::Tensor p = torch::zeros({});
            for (size_t e = 0; e < fishers_.size(); ++e)
                p = p + ewc_penalty(cur, fishers_[e], saved_[e]);
            pen_sum_ += p.item<double>();
            ++pen_steps_;
            return lambda * p;
        });
    }
    void after_fit(incremental_result &r, const incremental_config &cfg) override {
        r.extra["ewc_lambda"] = cfg.ewc_lambda;
        r.extra["mean_penalty"] = pen_steps_ ? pen_sum_ / double(pen_steps_) : 0.0;
        r.extra["fisher"] = fisher_stats_;
    }

  private:
    std::vector<named_tensors> fishers_, saved_;
    nlohmann::json fisher_stats_ = nlohmann::json::array();
    double pen_sum_ = 0;
    int64_t pen_steps_ = 0;
};

class rehearsal_learner : public incremental_learner {
  public:
    using incremental_learner::incremental_learner;
    std::string name() const override { return "rehearsal"; }
    // New classes (those of `data`) get a fresh selection from all their images; with a total
    // budget the older sets are cut to their new share first (iCaRL: reduce, then construct).
    void consolidate(const new_data &data, const incremental_config &cfg) override {
        std::map<int, std::vector<train_item>> by_class;
        for (const auto &it : data.train) by_class[it.label].push_back(it);
        const std::map<int, int> budget = budgets(by_class, cfg);
        means_.assign(size_t(model_->arch.num_classes), {});
        for (auto &[label, mem] : memory_)
            if (!by_class.count(label)) {
                mem = reduce_exemplar_set(std::move(mem), budget.at(label));
                means_[size_t(label)] = mean_of(mem);
            }
        for (auto &[label, items] : by_class) {
            std::vector<int32_t> idx;
            for (const auto &it : items) idx.push_back(it.image);
            int d = 0;
            const std::vector<float> f = extract_features(model_, images_, idx, &d);
            const std::vector<int> pick =
                select_exemplars(f, int(idx.size()), d, budget.at(label), cfg.selection,
                                 mix_seeds(cfg.seed, 0xE4E + uint64_t(label)));
            std::vector<train_item> mem;
            for (int i : pick) {
                train_item m = items[size_t(i)];
                m.source = 2;  // replayed exemplar
                mem.push_back(m);
            }
            memory_[label] = std::move(mem);  // a class seen again is re-selected
            means_[size_t(label)] = nme_class_mean(f, int(idx.size()), d);
        }
        bft_steps_ = 0;
        if (cfg.balanced_finetune_epochs > 0 && experiences_ > 0) {
            bft_steps_ = balanced_finetune(cfg);
            // The features moved: the means again, as above (new classes: all their images).
            for (const auto &[label, mem] : memory_)
                means_[size_t(label)] = mean_of(by_class.count(label) ? by_class.at(label) : mem);
        }
        ++experiences_;
    }
    std::map<int, std::vector<train_item>> exemplar_sets() const override { return memory_; }
    const std::vector<std::vector<float>> &nme_means() const override { return means_; }

  protected:
    void prepare(trainer &t, const new_data &data, const incremental_config &cfg,
                 int old_outputs) override {
        (void)data;
        old_outputs_ = old_outputs;
        kd_.install(t, model_, experiences_, old_outputs, cfg.rehearsal_distill,
                    cfg.lwf_temperature);
    }
    std::vector<train_item> training_set(const new_data &data) override {
        std::set<int> fresh;
        for (const auto &it : data.train) fresh.insert(it.label);
        std::vector<train_item> r = data.train;
        for (const auto &[label, mem] : memory_)
            if (!fresh.count(label)) r.insert(r.end(), mem.begin(), mem.end());
        replayed_ = int64_t(r.size() - data.train.size());
        return r;
    }
    void after_fit(incremental_result &r, const incremental_config &cfg) override {
        r.extra["memory_per_class"] = cfg.memory_per_class;
        if (cfg.memory_total > 0) r.extra["memory_total"] = cfg.memory_total;
        r.extra["selection"] = exemplar_selection_name(cfg.selection);
        r.extra["replayed_images"] = replayed_;
        // Before consolidate(): the exemplars and class means are features, which WA leaves
        // alone; the softmax accuracy measured after the step sees the aligned layer.
        if (cfg.weight_aligning) r.extra["wa_gamma"] = weight_align(model_, old_outputs_);
        if (cfg.rehearsal_distill > 0) {
            r.extra["distill_alpha"] = cfg.rehearsal_distill;
            r.extra["mean_distillation_loss"] = kd_.mean_loss();
        }
        kd_.reset();
    }
    void after_consolidate(incremental_result &r) override {
        if (bft_steps_ > 0) r.extra["balanced_finetune_steps"] = bft_steps_;
    }
    int memory_size() const override {
        int n = 0;
        for (const auto &[label, mem] : memory_) n += int(mem.size());
        return n;
    }

  private:
    int old_outputs_ = 0;  // outputs before the step being learned (prepare())
    distiller kd_;         // cfg.rehearsal_distill > 0: LwF's term on new data + exemplars
    // Exemplars per seen class (label -> m): memory_per_class each, or the total split over
    // the seen classes in ascending label order (memory_budget_split).
    std::map<int, int> budgets(const std::map<int, std::vector<train_item>> &fresh,
                               const incremental_config &cfg) const {
        std::set<int> seen;
        for (const auto &[label, mem] : memory_) seen.insert(label);
        for (const auto &[label, items] : fresh) seen.insert(label);
        std::map<int, int> r;
        const std::vector<int> split = cfg.memory_total > 0
                                           ? memory_budget_split(cfg.memory_total, int(seen.size()))
                                           : std::vector<int>(seen.size(), cfg.memory_per_class);
        size_t i = 0;
        for (int label : seen) r[label] = split[i++];
        return r;
    }
    std::vector<float> mean_of(const std::vector<train_item> &mem) {
        std::vector<int32_t> idx;
        for (const auto &it : mem) idx.push_back(it.image);
        int d = 0;
        const std::vector<float> f = extract_features(model_, images_, idx, &d);
        return nme_class_mean(f, int(idx.size()), d);
    }
    // The balanced fine-tuning pass (incremental_config); returns its optimiser steps.
    int64_t balanced_finetune(const incremental_config &cfg) {
        std::vector<train_item> set;
        for (const auto &[label, mem] : memory_) set.insert(set.end(), mem.begin(), mem.end());
        train_config tc = cfg.train;
        tc.epochs = cfg.balanced_finetune_epochs;
        tc.lr = cfg.train.lr * cfg.balanced_finetune_lr_frac;
        tc.schedule = "constant";
        tc.patience = 0;
        // Balanced: budgets differ by <= 1, except for classes smaller than their budget.
        tc.weighting = class_weighting::none;
        tc.out_dir.clear();
        tc.resume = false;
        tc.seed = mix_seeds(cfg.train.seed, 0xBF7 + uint64_t(experiences_));
        distiller kd;                    // outlives t, whose extra loss refers to it
        trainer t(model_, images_, tc);  // a fresh Adam
        // EEIL's term (incremental_config::balanced_finetune_distill): the step's new outputs.
        kd.install_range(t, model_, old_outputs_, model_->arch.num_classes,
                         cfg.balanced_finetune_distill, cfg.lwf_temperature);
        t.fit(set, {});
        return int64_t(tc.epochs) * t.epoch_steps(set.size());
    }
    std::map<int, std::vector<train_item>> memory_;
    std::vector<std::vector<float>> means_;
    int64_t replayed_ = 0, bft_steps_ = 0;
};

}  // namespace

std::unique_ptr<incremental_learner> make_learner(const std::string &strategy, folia_net model,
                                                  const image_cache &images) {
    if (strategy == "finetune") return std::make_unique<finetune_learner>(std::move(model), images);
    if (strategy == "lwf") return std::make_unique<lwf_learner>(std::move(model), images);
    if (strategy == "ewc") return std::make_unique<ewc_learner>(std::move(model), images);
    if (strategy == "rehearsal")
        return std::make_unique<rehearsal_learner>(std::move(model), images);
    throw std::invalid_argument("unknown incremental strategy '" + strategy +
                                "' (finetune, lwf, ewc, rehearsal)");
}

}  // namespace folia::train
