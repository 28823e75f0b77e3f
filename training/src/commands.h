// commands.h: folia-train's subcommands. Option structs are plain C++ so main-train.cpp (CLI11)
// stays free of LibTorch. cmd_split and cmd_cache live in commands-data.cpp, cmd_train and
// cmd_export in commands-train.cpp, cmd_eval and cmd_calibrate in commands-eval.cpp, cmd_bench
// in commands-bench.cpp.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "options.h"

namespace folia::train {

struct train_options {
    data_options data;
    std::string out = "build/train/plantvillage";
    std::string init;  // start from this checkpoint's weights (e.g. a lower-resolution stage)
    std::vector<std::string> parts = {"labeled", "stream"};
    std::string init_model;       // start from a model file's weights; labels matched by name
    std::vector<int> oversample;  // per data root: how many times each training image appears
    std::string augment =
        "lab";  // lab (the PlantVillage recipe), field (lab + field transforms), none
    double label_smoothing = 0.0;
    fit_options fit;
    uint64_t seed = 42;
    bool resume = false, no_augment = false;
};

struct export_options {
    std::string run = "build/train/plantvillage";
    std::string checkpoint;  // default <run>/best.pt
    std::string out = "shared/models/plantvillage.folia";
    std::string golden = "shared/models/plantvillage.golden.bin";
    int exemplars = 0;  // per class: herding-selected trunk features stored for teaching replay
    data_options data;  // where the exemplars come from (default: the run's folders and splits)
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

int cmd_split(const data_options &o);
int cmd_cache(const data_options &o);
int cmd_train(const train_options &o);
int cmd_export(const export_options &o);
int cmd_eval(const eval_options &o);
int cmd_calibrate(const calibrate_options &o);
int cmd_bench(const bench_options &o);

}  // namespace folia::train
