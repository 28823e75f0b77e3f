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
    dist_options dist;  // --master, --world-size, --rank (or the usual environment variables)
};

// folia-train launch --nproc N [--master HOST:PORT] [--nnodes M --node-rank K] -- train ...:
// N local ranks (global ranks K*N .. K*N+N-1 of M*N), each with cores/N threads unless the
// command gives --threads, output prefixed "[rank R] "; the first rank to fail stops the rest.
struct launch_options {
    int nproc = 2, nnodes = 1, node_rank = 0;
    std::string master;                // default 127.0.0.1:<a free port> (one machine only)
    std::vector<std::string> command;  // the folia-train subcommand and its arguments
};

// folia-train bench-dist: images/s of 1 process x T threads (batch 2B) vs 2 ranks x T/2
// threads (batch B each), interleaved A B A B, plus bytes and all-reduce time per step.
struct bench_dist_options {
    int batch = 16, size = 64, steps = 12, warmup = 3, rounds = 2, threads = 2, classes = 10;
    std::string json;
    // internal: a worker rank of the 2-rank side
    int worker_rank = -1;
    std::string master, result;
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
int cmd_launch(const launch_options &o);  // commands-launch.cpp (no LibTorch)
// A port on 127.0.0.1 the kernel considers free right now (commands-launch.cpp).
int free_local_port();
int cmd_bench_dist(const bench_dist_options &o);  // commands-dist.cpp

}  // namespace folia::train
