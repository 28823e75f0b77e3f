// options.h: the options every training tool shares (folia-train, folia-ssl, folia-incremental),
// declared once. Plain C++: the executables' mains (CLI11, cli-common.h) stay free of LibTorch.
//   data_options  where the images come from (--data, --split, --size, ...)
//   fit_options   how a model is fitted (--epochs, --batch, --lr, ...); trainer.h maps them onto
//                 a train_config with config_from_options()
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace folia::train {

struct data_options {
    // --data, repeatable: several <class>/<image> roots are merged into one dataset whose
    // classes are the union. Empty: $FOLIA_DATA.
    std::vector<std::string> data;
    // --split, one per data root: its split file (made from --split-seed and the fractions
    // below if missing). Empty: training/splits/<root folder name>-seed<split seed>.json.
    std::vector<std::string> split;
    std::string cache_dir = "build/cache";
    int size = 128;
    int max_classes = 0, per_class = 0;  // slices for smoke runs
    uint64_t split_seed = 42;
    double test_frac = 0.10, val_frac = 0.10, labeled_frac = 0.20;  // of a NEW split only
    int threads = 2;
};

// The optimisation knobs (Adam, warmup + cosine or constant LR, early stopping, class weights).
// Defaults: Adam lr 1e-4, weight decay 1e-4, sqrt inverse-frequency class weights.
struct fit_options {
    int epochs = 30, batch = 32, patience = 8;
    double lr = 1e-4, weight_decay = 1e-4, warmup = 1.0, min_lr_frac = 0.02;
    std::string schedule = "cosine", weighting = "sqrt";
    int64_t max_steps = 0;  // cap steps per epoch (smoke runs)
    // {"epochs", "batch", "patience", "lr", "weight_decay", "warmup", "min_lr_frac",
    //  "schedule", "class_weights", "max_steps"}
    nlohmann::json to_json() const;
};

// LibTorch's thread count (it picks 1 on a VM whose cpuinfo sees one core): every training
// executable calls it once, after tune_malloc_for_training(). Defined in trainer.cpp.
void setup_runtime(int threads);

}  // namespace folia::train
