// folia-ssl: the semi-supervised pseudo-labelling stream simulation (run), its supervised
// baselines (supervised), the noisy student of a finished run (student), FixMatch (fixmatch)
// and the export of a run's model. No LibTorch in this file (ssl-sim.h is plain C++).
#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>
#include <string>

#include "cli-common.h"
#include "ssl-sim.h"

using namespace folia::train;
using namespace folia::train::ssl;

namespace {

std::string join_args(int argc, char **argv) {
    std::string s;
    for (int i = 0; i < argc; ++i) {
        if (i) s += ' ';
        const std::string a = argv[i];
        const bool quote = a.find_first_of(" \t\"'") != std::string::npos || a.empty();
        s += quote ? "'" + a + "'" : a;
    }
    return s;
}

}  // namespace

int main(int argc, char **argv) {
    tune_malloc_for_training();

    CLI::App app{"folia-ssl: pseudo-labelling stream simulation (semi-supervised) and baselines"};
    app.require_subcommand(1);
    app.option_defaults()->always_capture_default();  // --help shows every default

    sim_options so;
    so.pre.epochs = 30;
    bool no_final = false, quiet = false;
    auto *run = app.add_subcommand("run",
                                   "pre-train on the labeled pool, then pseudo-label the "
                                   "stream day by day, retraining when the buffer fills");
    add_run_options(run, so.data, so.pre, "pre-training", so.out,
                    "run folder: state.pt (checkpoint), results.json");
    run->add_option("--seed", so.seed, "model init, stream order, augmentation");
    run->add_option("--method", so.ssl.method,
                    "fixed-tau (the seed's: one threshold) or flexmatch (class-adaptive "
                    "curriculum thresholds)");
    run->add_option("--tau", so.ssl.tau, "confidence threshold (flexmatch: the highest)");
    run->add_option("--tau-min", so.ssl.tau_min, "flexmatch: the lowest class threshold");
    run->add_option("--control", so.control_of,
                    "a finished SSL run's results.json: train the labeled-only control with "
                    "its rounds' optimiser steps (no pseudo-labels)");
    run->add_option("--cap", so.ssl.cap_per_class, "most pseudo-labels per class, 0 = no cap");
    run->add_option("--per-day", so.ssl.images_per_day, "stream images per simulated day");
    run->add_option("--retrain-threshold", so.ssl.retrain_threshold,
                    "buffer size that triggers a retrain");
    run->add_option("--lambda", so.ssl.lambda, "weight of the pseudo-label loss");
    run->add_option("--ramp-epochs", so.ssl.ramp_epochs, "T_ramp in epochs");
    run->add_option("--ramp-scope", so.ssl.ramp_scope,
                    "global: t counts every pseudo-label epoch since the stream began; round: t "
                    "restarts at each retrain");
    run->add_option("--retrain-epochs", so.ssl.retrain_epochs, "epochs per retrain");
    run->add_option("--retrain-lr", so.retrain_lr, "constant Adam learning rate of the retrains");
    run->add_flag("--no-final-retrain", no_final,
                  "leave a last partial buffer unused at the stream's end");
    run->add_option("--pretrained", so.pretrained,
                    "start from this checkpoint (e.g. a supervised baseline's best.pt) instead of "
                    "pre-training");
    run->add_option("--max-days", so.max_days, "simulate only the first N days of the stream");
    run->add_option("--stop-after-days", so.stop_after_days,
                    "stop after N days without finishing, as if killed (tests --resume)");
    run->add_flag("--resume", so.resume, "continue from <out>/state.pt");
    run->add_flag("--overwrite", so.overwrite, "start again even if <out>/state.pt exists");
    run->add_option("--export", so.export_model, "write the final model file here");
    run->add_flag("--quiet", quiet, "no per-day progress lines");
    std::string progress_style = "bar";
    add_progress_option(run, progress_style);

    supervised_options su;
    bool su_quiet = false;
    auto *sup = app.add_subcommand("supervised",
                                   "supervised baseline on labeled + a share of the "
                                   "stream with true labels");
    add_run_options(sup, su.data, su.cfg, "training", su.out,
                    "run folder: last.pt, best.pt, history.json, results.json");
    sup->add_option("--label-frac", su.label_frac,
                    "labeled share of the training pool (0.2 = labeled pool only, 1 = all)");
    sup->add_option("--seed", su.seed, "model init, which stream images get labels, augmentation");
    sup->add_flag("--resume", su.resume, "continue from <out>/last.pt");
    sup->add_option("--export", su.export_model, "write the model file here");
    sup->add_flag("--quiet", su_quiet, "no progress bars");

    student_options st;
    bool st_quiet = false;
    auto *stu = app.add_subcommand(
        "student",
        "noisy student: a fresh model on labeled + a finished SSL run's pseudo-labels (or a "
        "teacher checkpoint's, balanced per class), with the supervised baselines' schedule");
    add_run_options(stu, st.data, st.cfg, "training", st.out,
                    "run folder: last.pt, best.pt, history.json, results.json");
    stu->add_option("--teacher", st.teacher, "a finished folia-ssl run folder (its pseudo-labels)");
    stu->add_option("--teacher-model", st.teacher_model,
                    "instead: a checkpoint (e.g. the 20 % baseline's or a student's best.pt) that "
                    "labels every stream image (method balanced-student)");
    stu->add_option("--ensemble-with", st.ensemble_with,
                    "--teacher-model: more checkpoints; the teacher is the mean of all their "
                    "softmax outputs (e.g. every round of a chain of students)");
    stu->add_option("--top-per-class", st.top_per_class,
                    "--teacher-model: keep each predicted class's N most confident (0: all)");
    stu->add_option("--seed", st.seed, "model init, augmentation, shuffling");
    stu->add_option("--lambda", st.lambda, "weight of the pseudo-label loss (no ramp)");
    stu->add_option("--min-confidence", st.min_confidence,
                    "use only the teacher's pseudo-labels at least this confident");
    stu->add_flag("--resume", st.resume, "continue from <out>/last.pt");
    stu->add_option("--export", st.export_model, "write the model file here");
    stu->add_flag("--quiet", st_quiet, "no progress bars");

    fixmatch_options fm;
    bool fm_quiet = false;
    auto *fix = app.add_subcommand(
        "fixmatch",
        "FixMatch consistency training on every stream image (no labels) from a supervised "
        "checkpoint, with fixed or FlexMatch class thresholds");
    add_run_options(fix, fm.data, fm.cfg, "training", fm.out,
                    "run folder: last.pt, best.pt, history.json, unlabeled-history.json, "
                    "results.json");
    fix->add_option("--pretrained", fm.pretrained,
                    "start from this checkpoint (e.g. the 20 % baseline's best.pt)");
    fix->add_option("--thresholds", fm.thresholds,
                    "fixed (method fixmatch) or flex (FlexMatch's class thresholds: "
                    "fixmatch-flex)");
    fix->add_option("--tau", fm.tau, "confidence threshold (flex: the highest)");
    fix->add_option("--tau-min", fm.tau_min, "flex: the lowest class threshold");
    fix->add_option("--lambda-u", fm.lambda_u, "weight of the unlabeled loss");
    fix->add_option("--seed", fm.seed, "model init, augmentation, shuffling");
    fix->add_flag("--resume", fm.resume, "continue from <out>/last.pt");
    fix->add_option("--export", fm.export_model, "write the model file here");
    fix->add_flag("--quiet", fm_quiet, "no progress bars");

    std::string ex_run, ex_out;
    data_options ex_data;
    auto *exp =
        app.add_subcommand("export", "write a finished SSL run's model as a Folia model file");
    add_data_options(exp, ex_data);
    exp->add_option("--run", ex_run, "SSL run folder (state.pt, results.json)")->required();
    exp->add_option("--out", ex_out, "model file to write")->required();

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError &e) {
        return app.exit(e) == 0 ? 0 : 2;
    }
    try {
        const std::string command = join_args(argc, argv);
        if (*run) {
            so.ssl.final_retrain = !no_final;
            so.progress = !quiet;
            so.command = command;
            setup_runtime(so.data.threads);
            apply_progress_option(progress_style);
            run_ssl(so);
            emit_progress("done", {{"status", 0}});
        } else if (*sup) {
            su.progress = !su_quiet;
            su.command = command;
            setup_runtime(su.data.threads);
            run_supervised(su);
        } else if (*stu) {
            st.progress = !st_quiet;
            st.command = command;
            setup_runtime(st.data.threads);
            run_student(st);
        } else if (*fix) {
            fm.progress = !fm_quiet;
            fm.command = command;
            setup_runtime(fm.data.threads);
            run_fixmatch(fm);
        } else if (*exp) {
            export_ssl_state(ex_run, ex_data, ex_out);
        }
    } catch (const std::invalid_argument &e) {
        std::fprintf(stderr, "folia-ssl: %s\n", e.what());
        return 2;
    } catch (const std::exception &e) {
        std::fprintf(stderr, "folia-ssl: %s\n", e.what());
        return 1;
    }
    return 0;
}
