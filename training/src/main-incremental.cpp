// folia-incremental: class-incremental learning experiments (fine-tuning, LwF, EWC, rehearsal,
// joint) on the leaf-grouped split, with Avalanche metrics. No LibTorch in this file.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>

#include "cli-common.h"
#include "commands-incremental.h"

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
                 "class order from --seeds (default: sorted)");
    app.add_option("--base-epochs", o.base_epochs,
                   "epochs of experience 0 (the shared base model)");
    app.add_option("--step-epochs", o.step_epochs, "epochs of each later experience");
    app.add_option("--joint-epochs", o.joint_epochs,
                   "epochs of the joint upper bound (0: base epochs)");
    add_train_options(&app, o.fit, "base model and joint", fit_flags::no_epochs);
    app.add_option("--step-lr", o.step_lr, "peak LR of the incremental steps");
    app.add_option("--step-warmup", o.step_warmup, "warmup epochs (steps)");
    app.add_flag("--no-augment", o.no_augment);
    app.add_option("--lwf-alpha", o.lwf_alpha, "LwF distillation weight");
    app.add_option("--lwf-temperature", o.lwf_temperature, "LwF distillation temperature");
    app.add_option("--ewc-lambda", o.ewc_lambda, "EWC penalty weight");
    app.add_option("--fisher-samples", o.fisher_samples, "images for EWC's Fisher (0: all)");
    app.add_option("--fisher-batch", o.fisher_batch, "1: per-sample Fisher; b: b-image groups");
    CLI::Option *per_class =
        app.add_option("--memory-per-class", o.memory_per_class, "rehearsal exemplars per class");
    app.add_option("--memory-total", o.memory_total,
                   "rehearsal: a fixed total of exemplars shared by the seen classes (iCaRL; "
                   "floor(K/c) each, the remainder to the lowest class ids)")
        ->check(CLI::Range(1, 1 << 30))
        ->excludes(per_class);
    app.add_flag("--weight-aligning", o.weight_aligning,
                 "rehearsal: Weight Aligning (Zhao et al. 2020) after each step: the new "
                 "classes' output rows scaled to the old rows' mean norm");
    app.add_option("--rehearsal-distill", o.rehearsal_distill,
                   "rehearsal: weight of LwF's distillation term on new images and exemplars "
                   "(iCaRL / WA's knowledge distillation; 0: off)")
        ->check(CLI::NonNegativeNumber);
    app.add_option("--balanced-finetune", o.balanced_finetune,
                   "rehearsal: EEIL's balanced fine-tuning after each step, this many epochs on "
                   "the memory alone (every seen class at its budget); 0: off")
        ->check(CLI::NonNegativeNumber);
    app.add_option("--balanced-finetune-lr-frac", o.balanced_finetune_lr_frac,
                   "its constant learning rate, as a fraction of the step's")
        ->check(CLI::PositiveNumber);
    app.add_option("--balanced-finetune-distill", o.balanced_finetune_distill,
                   "weight of EEIL's distillation during that pass, on the step's new outputs "
                   "from the model as the step left it (--lwf-temperature; 0: off)")
        ->check(CLI::NonNegativeNumber);
    app.add_option("--logit-adjust", o.logit_adjust,
                   "the steps' loss: cross-entropy of logits + tau * log(class prior of the "
                   "step's training set), no class weights (Menon et al. 2021; 1: balanced "
                   "softmax); 0: off")
        ->check(CLI::NonNegativeNumber);
    app.add_option("--base-dir", o.base_dir,
                   "folder of the shared base models base-seed<s>.pt (default: --out)");
    bool no_export = false, quiet = false;
    app.add_flag("--no-export", no_export, "do not write <out>/models/*.folia");
    app.add_flag("--quiet", quiet, "no per-epoch progress bars");
    std::string progress_style = "bar";
    add_progress_option(&app, progress_style);
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError &e) {
        return app.exit(e) == 0 ? 0 : 2;
    }
    o.export_models = !no_export;
    o.progress = !quiet;
    try {
        setup_runtime(o.data.threads);
        apply_progress_option(progress_style);
        const int rc = cmd_incremental(o);
        emit_progress("done", {{"status", rc}});
        return rc;
    } catch (const std::exception &e) {
        std::fprintf(stderr, "folia-incremental: %s\n", e.what());
        return 1;
    }
}
