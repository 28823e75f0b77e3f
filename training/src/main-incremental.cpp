// folia-incremental: class-incremental learning experiments (fine-tuning, LwF, EWC, rehearsal,
// joint) on the leaf-grouped split, with Avalanche metrics. No LibTorch in this file.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>
#include <fmt/format.h>
#include <map>

#include "cli-common.h"
#include "incremental-commands.h"
#include "workspace.h"

namespace folia::train {

void incremental_setup_runtime(int threads);  // commands-incremental.cpp

int cmd_incremental(const incremental_options &o) {
    const workspace w = load_workspace(o.data, true);
    const dataset &d = w.data;
    const data_split &split = w.split;
    const image_cache &images = w.images;
    const nlohmann::json r = run_incremental(o, d, split, images);
    // Summary: final ACC, mean forgetting per strategy, averaged over seeds.
    std::map<std::string, std::vector<std::pair<double, double>>> by;
    for (const auto &run : r.at("runs")) {
        const auto &m = run.at("metrics");
        by[run.at("strategy")].push_back({m.at("final_acc"), m.value("mean_forgetting", 0.0)});
    }
    fmt::print("{:<20} {:>6} {:>10} {:>12}\n", "strategy", "runs", "final ACC", "forgetting");
    for (const auto &[name, v] : by) {
        double a = 0, f = 0;
        for (const auto &[x, y] : v) a += x, f += y;
        fmt::print("{:<20} {:>6} {:>9.2f}% {:>11.2f}%\n", name, v.size(),
                   100 * a / double(v.size()), 100 * f / double(v.size()));
    }
    fmt::print("results: {}/results.json\n", o.out);
    return 0;
}

}  // namespace folia::train

using namespace folia::train;

int main(int argc, char **argv) {
    tune_malloc_for_training();

    incremental_options o;
    o.data.size = 64;
    CLI::App app{
        "folia-incremental: class-incremental learning (finetune, LwF, EWC, rehearsal, joint)"};
    // The data options every training tool shares (cli-common.h); incremental takes one folder.
    CLI::App *data_app = &app;
    add_data_options(data_app, o.data);
    app.add_option("--out", o.out, "results folder: results.json, base-seed<s>.pt, models/");
    app.add_option(
           "--strategies", o.strategies,
           "joint, finetune, lwf, ewc, rehearsal-herding, rehearsal-random, rehearsal-distance")
        ->delimiter(',');
    app.add_option("--seeds", o.seeds, "one full protocol per seed (model init, shuffling)")
        ->delimiter(',');
    app.add_option("--train-parts", o.train_parts, "split parts the experiences train on")
        ->delimiter(',');
    app.add_option("--first-classes", o.first_classes, "classes of the first experience");
    app.add_option("--steps", o.steps, "experiences that share the remaining classes");
    app.add_flag("--shuffle-classes", o.shuffle_classes,
                 "class order from the seed (default: sorted)");
    app.add_option("--base-epochs", o.base_epochs,
                   "epochs of experience 0 (the shared base model)");
    app.add_option("--step-epochs", o.step_epochs, "epochs of each later experience");
    app.add_option("--joint-epochs", o.joint_epochs,
                   "epochs of the joint upper bound (0: base epochs)");
    app.add_option("--batch", o.batch);
    app.add_option("--lr", o.lr, "peak LR of the base model and joint (Adam)");
    app.add_option("--step-lr", o.step_lr, "peak LR of the incremental steps");
    app.add_option("--weight-decay", o.weight_decay);
    app.add_option("--warmup", o.warmup, "warmup epochs (base, joint)");
    app.add_option("--step-warmup", o.step_warmup, "warmup epochs (steps)");
    app.add_option("--min-lr-frac", o.min_lr_frac, "cosine floor as a fraction of the peak LR");
    app.add_option("--class-weights", o.weighting, "none, sqrt or inverse class frequency");
    app.add_flag("--no-augment", o.no_augment);
    app.add_option("--max-steps", o.max_steps, "cap optimiser steps per epoch (CI runs)");
    app.add_option("--lwf-alpha", o.lwf_alpha, "LwF distillation weight");
    app.add_option("--lwf-temperature", o.lwf_temperature, "LwF distillation temperature");
    app.add_option("--ewc-lambda", o.ewc_lambda, "EWC penalty weight");
    app.add_option("--fisher-samples", o.fisher_samples, "images for EWC's Fisher (0: all)");
    app.add_option("--fisher-batch", o.fisher_batch, "1: per-sample Fisher; b: b-image groups");
    app.add_option("--memory-per-class", o.memory_per_class, "rehearsal exemplars per class");
    bool no_export = false, quiet = false;
    app.add_flag("--no-export", no_export, "do not write <out>/models/*.folia");
    app.add_flag("--quiet", quiet, "no per-epoch progress bars");
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError &e) {
        return app.exit(e) == 0 ? 0 : 2;
    }
    o.export_models = !no_export;
    o.progress = !quiet;
    try {
        incremental_setup_runtime(o.data.threads);
        return cmd_incremental(o);
    } catch (const std::exception &e) {
        std::fprintf(stderr, "folia-incremental: %s\n", e.what());
        return 1;
    }
}
