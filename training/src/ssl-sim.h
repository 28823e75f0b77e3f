// ssl-sim.h: the pseudo-labelling stream simulation and its supervised baselines, driven by
// plain option structs (no LibTorch in this header: the CLI and the tests include it freely).
//
// run_ssl: supervised pre-training on the labeled pool (or --pretrained: start from a
// checkpoint, e.g. the 20 % baseline's best.pt, so ablations share one starting model), then the
// simulated stream (ssl-logic.h), retraining on labeled + accepted pseudo-labels with on-the-fly
// augmentation and the loss of ssl-loss.h. Pseudo-labelling inference runs in LibTorch eval
// mode (no augmentation, BatchNorm running statistics) on the same cached, Pillow-exact
// preprocessed images as training: it costs <1 % of a run, so the XNNPACK engine buys nothing.
// The whole state (model, Adam, buffer, accepted set, day, counters, torch RNG) is checkpointed
// atomically to <out>/state.pt after pre-training and after every retrain; resume = true
// continues from it (days after the last retrain are replayed, deterministically).
// <out>/results.json is rewritten at every checkpoint ("complete": false) and at the end.
//
// control_of (the "trained longer" control): no pseudo-labels at all. The same start and the
// same retrain rounds as a finished SSL run (its results.json), each with the optimiser steps
// that round took (retrain_epochs x (labeled + pseudo) / batch), on the labeled images only.
//
// Selection, one rule for every configuration: the checkpoint with the best validation
// accuracy (supervised: best epoch; SSL and control: best round, the supervised start counted
// as round 0). results.json's top-level val_acc / test_acc are that checkpoint's; "last_*" are
// the final model's (the one --export writes).
//
// run_student (method "noisy-student", after Xie et al. 2020's Noisy Student, with a student
// the teacher's size): a fresh model trained on the labeled pool + the pseudo-labels a finished
// SSL run (the teacher) accepted on the stream, with the supervised baselines' schedule (warmup
// + cosine, early stopping, best validation epoch) instead of the teacher's short constant-LR
// retrains; the loss is ssl-loss.h's with lambda and no ramp, the noise is the baselines'
// augmentation and dropout. Resumable like run_supervised (<out>/last.pt). With teacher_model
// instead (method "balanced-student", Noisy Student's class balancing): a checkpoint (the 20 %
// model, or a student's best.pt to iterate) labels every stream image in eval mode on the
// clean images, and each predicted class keeps its top_per_class most confident images
// (ssl-logic.h's balanced_pseudo_labels), so hard classes get pseudo-labels too. With
// ensemble_with, the teacher is the ensemble of teacher_model and those checkpoints (e.g. every
// round of a chain of students): their averaged softmax labels the stream, and the teacher's
// val/test accuracy in results.json is the ensemble's (argmax of the averaged softmax).
//
// run_fixmatch (methods "fixmatch" and "fixmatch-flex"; Sohn et al. 2020, with FlexMatch's
// class thresholds, Zhang et al. 2021, for the second): consistency training at the end of the
// stream, on every stream image at once with no label, starting from a supervised checkpoint
// (the 20 % baseline's best.pt). Each batch is drawn from labeled + unlabeled items; an
// unlabeled image's weak view (the baselines' augmentation) is scored without gradient, and
// its argmax is the target of its strong view (strong_augment_params) when the confidence
// reaches the class threshold (ssl-loss.h's fixmatch_loss). fixmatch: tau for every class;
// fixmatch-flex: ssl-logic.h's class_thresholds (method flexmatch), with sigma_c counted at the
// start of each epoch over every unlabeled image (no augmentation, eval mode): a pure
// function of the weights, so --resume repeats it exactly. The supervised schedule (warmup +
// cosine, early stopping, best validation epoch), resumable like run_supervised.
//
// run_supervised: the baselines: labeled pool + the first part of the same seeded stream
// order with their TRUE labels, up to label_frac of the training pool (labeled + stream).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "options.h"
#include "ssl-logic.h"

namespace folia::train {
struct workspace;
}

namespace folia::train::ssl {

// Supervised training knobs (pre-training and baselines): the shared fit_options, with plain
// cross-entropy (no class weights) by default.
struct sup_config : fit_options {
    sup_config() { weighting = "none"; }
};

struct sim_options {
    data_options data;
    std::string out = "build/ssl/run";
    ssl_params ssl;
    sup_config pre;            // pre-training (unless pretrained is set)
    double retrain_lr = 1e-4;  // constant Adam LR of the retrains
    std::string pretrained;    // checkpoint to start from instead of pre-training
    std::string control_of;    // an SSL run's results.json: run its labeled-only control
    uint64_t seed = 42;        // model init, stream order, augmentation, shuffling
    int max_days = 0;          // use only the first max_days days of the stream (0: all)
    int stop_after_days = 0;   // return after this many days WITHOUT finishing (a kill)
    bool resume = false, overwrite = false, progress = true;
    std::string export_model;  // also write the final model file here ("" = no)
    std::string command;       // the command line, recorded in results.json
};

struct supervised_options {
    data_options data;
    std::string out = "build/ssl/supervised";
    sup_config cfg;
    double label_frac = 0.2;  // of the training pool (labeled + stream)
    uint64_t seed = 42;
    bool resume = false, progress = true;
    std::string export_model;
    std::string command;
};

struct student_options {
    data_options data;
    std::string out = "build/ssl/student";
    std::string teacher;        // a finished SSL run's folder (results.json, state.pt), or
    std::string teacher_model;  // a checkpoint (best.pt) whose verdicts label the whole stream
    int top_per_class = 0;      // teacher_model: most pseudo-labels per predicted class (0: all)
    // teacher_model's fellow ensemble members (checkpoints of the same data and size): the
    // stream is labelled by the mean of all members' softmax (ssl-logic.h's mean_probabilities)
    std::vector<std::string> ensemble_with;
    sup_config cfg;             // the student's training: the supervised baselines' knobs
    double lambda = 1.0;        // weight of L_pseudo (constant: no ramp)
    double min_confidence = 0;  // drop teacher pseudo-labels below this confidence
    uint64_t seed = 42;
    bool resume = false, progress = true;
    std::string export_model;
    std::string command;
};

struct fixmatch_options {
    data_options data;
    std::string out = "build/ssl/fixmatch";
    std::string pretrained;            // checkpoint to start from ("" = a fresh model)
    sup_config cfg;                    // the schedule: the supervised baselines' knobs
    std::string thresholds = "fixed";  // fixed (method fixmatch) or flex (fixmatch-flex)
    double tau = 0.95;                 // confidence threshold (flex: its upper end)
    double tau_min = 0.5;              // flex: the lowest class threshold
    double lambda_u = 1.0;             // weight of L_u
    uint64_t seed = 42;
    bool resume = false, progress = true;
    std::string export_model;
    std::string command;
};

// All four return the results JSON (also written to <out>/results.json). A workspace may be passed
// (tests build a small one in memory); otherwise it is loaded from options.data.
nlohmann::json run_ssl(const sim_options &o, const workspace *w = nullptr);
nlohmann::json run_supervised(const supervised_options &o, const workspace *w = nullptr);
nlohmann::json run_student(const student_options &o, const workspace *w = nullptr);
nlohmann::json run_fixmatch(const fixmatch_options &o, const workspace *w = nullptr);

// The control's optimiser steps per round, from a finished SSL run's results.json: each round's
// retrain_epochs x floor(train_items / batch), as trainer::train_epoch counts steps. Throws when
// the run is not complete or has no rounds.
std::vector<int64_t> control_schedule(const nlohmann::json &ssl_results);

// Writes the model of an SSL checkpoint (<run>/state.pt) as a Folia model file, labels from
// the data folder (sliced as d says), input size from <run>/results.json.
void export_ssl_state(const std::string &run_dir, const data_options &d, const std::string &out);

}  // namespace folia::train::ssl
