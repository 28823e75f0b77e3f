// commands.h: folia-train's subcommands. Option structs are plain C++ so main.cpp (CLI11)
// stays free of LibTorch; the torch-using commands live in commands-train.cpp and
// commands-eval.cpp.
#pragma once

#include <cstdint>
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
    int max_classes = 0, per_class = 0;                // slices for smoke runs
    uint64_t split_seed = 42;
    double test_frac = 0.10, val_frac = 0.10, labeled_frac = 0.20;  // of a NEW split only
    int threads = 2;
};

struct train_options {
    data_options data;
    std::string out = "build/train/plantvillage";
    std::string init;  // start from this checkpoint's weights (e.g. a lower-resolution stage)
    std::vector<std::string> parts = {"labeled", "stream"};
    std::string init_model;  // start from a model file's weights; labels matched by name
    std::vector<int> oversample;  // per data root: how many times each training image appears
    std::string augment = "lab";  // lab (the seed's recipe), field (lab + field transforms), none
    double label_smoothing = 0.0;
    int epochs = 30, batch = 32, patience = 8;
    double lr = 1e-4, weight_decay = 1e-4, warmup = 1.0, min_lr_frac = 0.02;
    std::string schedule = "cosine", weighting = "sqrt";
    uint64_t seed = 42;
    bool resume = false, no_augment = false;
    int64_t max_steps = 0;
};

struct export_options {
    std::string run = "build/train/plantvillage";
    std::string checkpoint;  // default <run>/best.pt
    std::string out = "shared/models/plantvillage.folia";
    std::string golden = "shared/models/plantvillage.golden.bin";
    int exemplars = 0;   // per class: herding-selected trunk features stored for teaching replay
    data_options data;   // where the exemplars come from (default: the run's folders and splits)
};

struct eval_options {
    data_options data;
    std::string run = "build/train/plantvillage";
    std::string checkpoint;
    std::string part = "test";
    std::string out;  // default <run>/eval-<part>.json
};

struct calibrate_options {
    data_options data;
    std::string run = "build/train/plantvillage";
    std::string checkpoint;
    std::string model;  // if set, the model file whose calibration section is updated in place
    double max_right_flagged = 0.05;  // abstain threshold: flag at most this share of right answers
    std::string abstain_domain;       // choose the threshold on this data folder's val rows only
};

struct bench_options {
    int batch = 32, size = 128, steps = 20, warmup = 5, threads = 2, classes = 35;
    std::string python = "/usr/bin/python3";
    std::string script = "tools/bench-pytorch-train.py";
    std::string json;  // optional results file
    bool skip_pytorch = false;
};

void setup_runtime(int threads);  // torch threads; call first thing after mallopt

int cmd_split(const data_options &o);
int cmd_cache(const data_options &o);
int cmd_train(const train_options &o);
int cmd_export(const export_options &o);
int cmd_eval(const eval_options &o);
int cmd_calibrate(const calibrate_options &o);
int cmd_bench(const bench_options &o);

}  // namespace folia::train
