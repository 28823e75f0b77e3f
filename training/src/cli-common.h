// cli-common.h: what every training executable's main() shares (folia-train, folia-ssl,
// folia-incremental): the malloc tuning LibTorch training needs, and the command-line flags of
// the shared options (options.h).
#pragma once

#include <malloc.h>

#include <CLI/CLI.hpp>
#include <string>

#include "options.h"
#include "progress.h"

namespace folia::train {

// glibc malloc mmaps every block over 32 MB and unmaps it on free: LibTorch training then
// spends most of its time in page faults (~8x slower here). Keep big blocks on the heap and do
// not give memory back on every free. Call first in main(), before any tensor exists.
inline void tune_malloc_for_training() {
    mallopt(M_MMAP_MAX, 0);
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
}

// --progress bar|json on a command that reports progress; call apply_progress_option after
// parsing.
inline void add_progress_option(CLI::App *c, std::string &style) {
    c->add_option("--progress", style,
                  "bar: human progress on stderr (default); json: one JSON object per line per "
                  "event on stdout (step, epoch, day, round, experience, done)")
        ->check(CLI::IsMember({"bar", "json"}));
}
inline void apply_progress_option(const std::string &style) {
    set_progress_json(style == "json");
}

inline void add_data_options(CLI::App *c, data_options &o) {
    c->add_option("--data", o.data,
                  "<class>/<image> folder, repeatable: several are merged (default $FOLIA_DATA)");
    c->add_option("--split", o.split,
                  "split JSON per --data folder (default training/splits/<folder>-seed<S>.json; "
                  "made if missing)");
    c->add_option("--split-seed", o.split_seed, "seed for a new split");
    c->add_option("--test-frac", o.test_frac, "test share of a new split");
    c->add_option("--val-frac", o.val_frac, "validation share of a new split");
    c->add_option("--labeled-frac", o.labeled_frac,
                  "labeled share of the rest of a new split (the others: stream)");
    c->add_option("--cache-dir", o.cache_dir, "where preprocessed image caches live (build tree)");
    c->add_option("--size", o.size, "input size S (the shipped model: 128)");
    c->add_option("--max-classes", o.max_classes, "use only the first N classes (smoke runs)");
    c->add_option("--per-class", o.per_class, "use only the first N images of each class");
    c->add_option("--threads", o.threads, "CPU threads (LibTorch and preprocessing)");
}

// Which of the fit_options flags a tool offers: a tool with fixed per-phase epochs (folia-
// incremental) declares its own epoch flags and trains without early stopping.
enum class fit_flags { all, no_epochs };

// --epochs, --batch, --lr, --weight-decay, --schedule, --warmup, --min-lr-frac, --patience,
// --class-weights, --max-steps. `what` names the training the per-run flags apply to.
inline void add_train_options(CLI::App *c, fit_options &o, const std::string &what = "training",
                              fit_flags flags = fit_flags::all) {
    const bool epochs = flags == fit_flags::all;
    if (epochs) c->add_option("--epochs", o.epochs, what + ": epochs");
    c->add_option("--batch", o.batch, "batch size");
    c->add_option("--lr", o.lr, what + ": peak Adam learning rate");
    c->add_option("--weight-decay", o.weight_decay, "Adam weight decay");
    if (epochs)
        c->add_option("--schedule", o.schedule, what + ": cosine (warmup + cosine) or constant");
    c->add_option("--warmup", o.warmup, what + ": warmup epochs");
    c->add_option("--min-lr-frac", o.min_lr_frac, "cosine floor as a fraction of the peak LR");
    if (epochs)
        c->add_option("--patience", o.patience,
                      what + ": early stopping patience in epochs (0: off)");
    c->add_option("--class-weights", o.weighting, "none, sqrt or inverse class frequency");
    c->add_option("--max-steps", o.max_steps, "cap optimiser steps per epoch (smoke runs)");
}

// The data flags, then --run and --checkpoint: the subcommands that read a finished run
// (folia-train eval, calibrate).
inline void add_run_input_options(CLI::App *c, data_options &data, std::string &run,
                                  std::string &checkpoint) {
    add_data_options(c, data);
    c->add_option("--run", run);
    c->add_option("--checkpoint", checkpoint);
}

// The data flags, the fit_options flags for `what`, then --out: the subcommands that train a
// run into a folder (folia-ssl run, supervised).
inline void add_run_options(CLI::App *c, data_options &data, fit_options &fit,
                            const std::string &what, std::string &out,
                            const std::string &out_help) {
    add_data_options(c, data);
    add_train_options(c, fit, what);
    c->add_option("--out", out, out_help);
}

}  // namespace folia::train
