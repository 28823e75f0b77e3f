// folia-train: split, cache, train (--resume; data-parallel with --master/--world-size/--rank),
// launch (N local ranks), eval, calibrate, export, bench, bench-dist.
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
    train->add_option(
        "--master", tr.dist.master,
        "data-parallel: HOST:PORT of rank 0's store (default MASTER_ADDR:MASTER_PORT)");
    train->add_option("--world-size", tr.dist.world_size,
                      "data-parallel: number of ranks (default WORLD_SIZE, else 1); --batch is per "
                      "rank");
    train->add_option("--rank", tr.dist.rank, "data-parallel: this rank (default RANK, else 0)");
    train->add_option("--dist-timeout", tr.dist.timeout_s,
                      "seconds a collective may wait before the run fails (a lost rank)");
    train->add_flag_function(
        "--no-sync-bn", [&](int64_t) { tr.dist.sync_bn = false; },
        "BatchNorm statistics per rank instead of over the global batch");

    launch_options la;
    auto *launch = app.add_subcommand(
        "launch", "run N local ranks of a data-parallel command: launch --nproc N -- train ...");
    launch->add_option("--nproc", la.nproc, "ranks on this machine");
    launch->add_option("--master", la.master,
                       "HOST:PORT of rank 0's store (default 127.0.0.1 and a free port)");
    launch->add_option("--nnodes", la.nnodes, "machines in the job (each runs launch)");
    launch->add_option("--node-rank", la.node_rank, "this machine's index (0 hosts rank 0)");
    launch->add_option("command", la.command, "the folia-train subcommand and its arguments")
        ->required();

    bench_dist_options bd;
    auto *bench_dist = app.add_subcommand(
        "bench-dist", "images/s: 1 process x T threads vs 2 ranks x T/2 threads, same run");
    bench_dist->add_option("--batch", bd.batch, "per rank (the 1-process side uses 2x)");
    bench_dist->add_option("--size", bd.size);
    bench_dist->add_option("--steps", bd.steps, "timed steps per round");
    bench_dist->add_option("--warmup", bd.warmup);
    bench_dist->add_option("--rounds", bd.rounds, "A B rounds");
    bench_dist->add_option("--threads", bd.threads, "threads of the 1-process side");
    bench_dist->add_option("--classes", bd.classes);
    bench_dist->add_option("--json", bd.json, "write the figures as JSON");
    bench_dist->add_option("--worker-rank", bd.worker_rank)->group("");
    bench_dist->add_option("--worker-master", bd.master)->group("");
    bench_dist->add_option("--worker-result", bd.result)->group("");

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
        if (*bench_dist) threads = bd.threads;
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
        if (*launch) return cmd_launch(la);
        if (*bench_dist) return cmd_bench_dist(bd);
    } catch (const std::exception &e) {
        std::fprintf(stderr, "folia-train: %s\n", e.what());
        return 1;
    }
    return 2;
}
