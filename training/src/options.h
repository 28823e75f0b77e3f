// options.h: the options every training tool shares (folia-train, folia-ssl, folia-incremental),
// declared once. Plain C++: the executables' mains (CLI11, cli-common.h) stay free of LibTorch.
//   data_options  where the images come from (--data, --split, --size, ...)
//   fit_options   how a model is fitted (--epochs, --batch, --lr, ...); trainer.h maps them onto
//                 a train_config with config_from_options()
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
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

// Data-parallel training (dist.h): where the ranks meet and who this one is. Flags win over the
// usual environment variables MASTER_ADDR, MASTER_PORT, WORLD_SIZE, RANK.
struct dist_options {
    std::string master;     // "HOST:PORT" (--master); empty: MASTER_ADDR:MASTER_PORT
    int world_size = 0;     // --world-size; 0: WORLD_SIZE, else 1 (not distributed)
    int rank = -1;          // --rank; -1: RANK, else 0
    double timeout_s = 30;  // a collective that waits longer fails (a lost rank)
    bool sync_bn = true;    // BatchNorm statistics over the global batch
};

// Fills the unset fields from the environment and checks them: throws std::runtime_error on a
// malformed HOST:PORT, a rank outside [0, world_size) or a missing master when world_size > 1.
dist_options resolve_dist_options(dist_options o);
// Splits "HOST:PORT"; throws on a bad port.
std::pair<std::string, uint16_t> parse_host_port(const std::string &s);

// LibTorch's thread count (it picks 1 on a VM whose cpuinfo sees one core): every training
// executable calls it once, after tune_malloc_for_training(). Defined in trainer.cpp.
void setup_runtime(int threads);

}  // namespace folia::train
