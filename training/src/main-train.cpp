// folia-train: split, cache, train (--resume), eval, calibrate, export, bench.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>

#include "cli-common.h"
#include "commands.h"

using namespace folia::train;

int main(int argc, char **argv) {
    tune_malloc_for_training();

    CLI::App app{"folia-train: native LibTorch training for Folia"};
    app.require_subcommand(1);

    data_options split_o, cache_o;
    auto *split = app.add_subcommand("split", "make (or check) the leaf-grouped split file");
    add_data_options(split, split_o);
    auto *cache = app.add_subcommand("cache", "preprocess every image once into the cache");
    add_data_options(cache, cache_o);

    train_options tr;
    auto *train = app.add_subcommand("train", "supervised training with checkpoints");
    add_data_options(train, tr.data);
    train->add_option("--out", tr.out, "run folder: last.pt, best.pt, history.json, run.json");
    train->add_option("--init", tr.init,
                      "start from this checkpoint's weights (progressive resizing)");
    train->add_option("--parts", tr.parts, "split parts to train on (labeled, stream)")
        ->delimiter(',');
    add_train_options(train, tr.fit);
    train->add_option("--seed", tr.seed);
    train->add_flag("--resume", tr.resume, "continue from <out>/last.pt");
    train->add_flag("--no-augment", tr.no_augment, "same as --augment none");
    train->add_option(
        "--augment", tr.augment,
        "lab (the PlantVillage recipe), field (lab + crops, hue, blur, cut-out) or none");
    train->add_option("--init-model", tr.init_model,
                      "start from a model file's weights (labels matched by name)");
    train
        ->add_option("--oversample", tr.oversample,
                     "per --data folder: times each training image is seen per epoch")
        ->delimiter(',');
    train->add_option("--label-smoothing", tr.label_smoothing);
    std::string progress_style = "bar";
    add_progress_option(train, progress_style);

    export_options ex;
    auto *exp = app.add_subcommand("export", "write the model file and its golden file");
    exp->add_option("--run", ex.run);
    exp->add_option("--checkpoint", ex.checkpoint, "default <run>/best.pt");
    exp->add_option("--out", ex.out);
    exp->add_option("--golden", ex.golden, "golden file (\"\" to skip)");
    exp->add_option("--exemplars", ex.exemplars,
                    "per class, herding-selected trunk features of training images stored in the "
                    "model file for on-device teaching replay (0: none)");
    add_data_options(exp, ex.data);

    eval_options ev;
    auto *eval = app.add_subcommand("eval", "metrics report (JSON) of a run on a split part");
    add_run_input_options(eval, ev.data, ev.run, ev.checkpoint);
    eval->add_option("--part", ev.part, "test, val, labeled or stream");
    eval->add_option("--out", ev.out, "default <run>/eval-<part>.json");

    calibrate_options ca;
    auto *cal = app.add_subcommand("calibrate", "temperature + abstain threshold fitted on val");
    add_run_input_options(cal, ca.data, ca.run, ca.checkpoint);
    cal->add_option("--model", ca.model, "also update this model file's calibration section");
    cal->add_option("--max-right-flagged", ca.max_right_flagged,
                    "largest share of right answers the threshold may flag");
    cal->add_option(
        "--abstain-domain", ca.abstain_domain,
        "choose the threshold on this data folder's validation photos (e.g. plantdoc-train)");

    bench_options be;
    auto *bench = app.add_subcommand("bench", "training images/s: ours vs PyTorch, same run");
    bench->add_option("--batch", be.batch);
    bench->add_option("--size", be.size);
    bench->add_option("--steps", be.steps);
    bench->add_option("--warmup", be.warmup);
    bench->add_option("--threads", be.threads);
    bench->add_option("--classes", be.classes);
    bench->add_option("--python", be.python);
    bench->add_option("--script", be.script);
    bench->add_option("--json", be.json, "write the figures as JSON");
    bench->add_flag("--skip-pytorch", be.skip_pytorch);

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError &e) {
        return app.exit(e) == 0 ? 0 : 2;
    }
    try {
        int threads = 2;
        if (*split) threads = split_o.threads;
        if (*cache) threads = cache_o.threads;
        if (*train) threads = tr.data.threads;
        if (*eval) threads = ev.data.threads;
        if (*cal) threads = ca.data.threads;
        if (*exp) threads = ex.data.threads;
        if (*bench) threads = be.threads;
        setup_runtime(threads);
        apply_progress_option(progress_style);
        if (*split) return cmd_split(split_o);
        if (*cache) return cmd_cache(cache_o);
        if (*train) {
            const int rc = cmd_train(tr);
            emit_progress("done", {{"status", rc}});
            return rc;
        }
        if (*exp) return cmd_export(ex);
        if (*eval) return cmd_eval(ev);
        if (*cal) return cmd_calibrate(ca);
        if (*bench) return cmd_bench(be);
    } catch (const std::exception &e) {
        std::fprintf(stderr, "folia-train: %s\n", e.what());
        return 1;
    }
    return 2;
}
