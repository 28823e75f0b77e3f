// commands-incremental.h: the class-incremental experiment of folia-incremental (options are
// plain C++ so main-incremental.cpp stays free of LibTorch; the runner is in
// commands-incremental.cpp).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "options.h"
#include "dataset.h"
#include "image-cache.h"
#include "split.h"

namespace folia::train {

struct incremental_options {
    data_options data;  // data.size: input size S (the network is size-agnostic: global pooling)
    std::string out = "build/incremental/plantvillage";
    // joint (upper bound: all data at once), finetune (lower bound), lwf, ewc,
    // rehearsal-herding | rehearsal-random | rehearsal-distance ("rehearsal" = herding).
    std::vector<std::string> strategies = {"joint",
                                           "finetune",
                                           "lwf",
                                           "ewc",
                                           "rehearsal-herding",
                                           "rehearsal-random",
                                           "rehearsal-distance"};
    std::vector<uint64_t> seeds = {1, 2};
    std::vector<std::string> train_parts = {"labeled", "stream"};
    // Protocol.
    int first_classes = 20, steps = 2;
    bool shuffle_classes = false;
    // Training.
    int base_epochs = 8, step_epochs = 6, joint_epochs = 0;  // joint 0: = base_epochs
    // batch, weight decay, cosine floor, class weights, step cap; lr and warmup are the base
    // model's and joint's (epochs, schedule and patience are not used: see above and below).
    fit_options fit = [] {
        fit_options f;
        f.lr = 1e-3;
        return f;
    }();
    double step_lr = 5e-4, step_warmup = 0.5;  // the incremental steps' peak LR and warmup
    bool no_augment = false;
    // Strategies.
    double lwf_alpha = 1.0, lwf_temperature = 2.0;
    double ewc_lambda = 1000.0;
    int fisher_samples = 500, fisher_batch = 1;
    int memory_per_class = 20;
    int memory_total = 0;          // > 0: iCaRL's fixed total memory instead of memory_per_class
    bool weight_aligning = false;  // rehearsal: Weight Aligning after each step
    double rehearsal_distill = 0;  // rehearsal: LwF distillation weight (0 = off)
    int balanced_finetune = 0;     // rehearsal: EEIL balanced fine-tuning epochs (0 = off)
    double balanced_finetune_lr_frac = 0.1;
    double balanced_finetune_distill = 0;  // EEIL's distillation on the new outputs (0 = off)
    double logit_adjust = 0;               // the steps' loss on logits + tau * log(prior) (0 = off)
    // The shared base models: <base_dir>/base-seed<s>.pt ("" = out). Several --out folders
    // (e.g. one per strategy or budget) can share one base per seed; a base trained with other
    // data or base-training settings is refused (base_config()).
    std::string base_dir;
    // Output.
    bool export_models = true;  // <out>/models/<strategy>-seed<s>.folia after the last step
    bool progress = true;       // per-epoch bars from the trainer
    nlohmann::json to_json() const;
    // The settings the base model depends on (data, protocol's first experience, training).
    nlohmann::json base_config() const;
};

// Runs every (seed, strategy) not yet in <out>/results.json (it is rewritten atomically after
// each one, so a killed run resumes at the next unfinished one), and returns the results. The
// base model of experience 0 is trained once per seed (<base_dir>/base-seed<s>.pt) and shared
// by all strategies. Throws if <out>/results.json was made with a different protocol or training
// configuration.
nlohmann::json run_incremental(const incremental_options &o, const dataset &d, const data_split &s,
                               const image_cache &images);

// Loads the data (--data / $FOLIA_DATA, split, image cache), runs, prints a summary table.
int cmd_incremental(const incremental_options &o);

}  // namespace folia::train
