// CI-sized end-to-end pseudo-labelling simulation on a small slice of the real data
// ($FOLIA_DATA): 4 classes x 50 images at 32x32, 10 images a day. Checks the mechanics the
// full run relies on: every stream image arrives once, thresholding and the cap, the buffer
// trigger, the ramp of the pseudo-label weight across retrains, the precision bookkeeping, and
// that a run stopped between checkpoints resumes to the same result as an uninterrupted one.
#include <algorithm>
#include <cmath>
#include <functional>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <tuple>

#include "checkpoint.h"
#include "model.h"
#include "file-io.h"
#include "folia.h"
#include "image-cache.h"
#include "ssl-sim.h"
#include "trainer.h"
#include "workspace.h"

// Last, and after dropping glog's CHECK (LibTorch's logging pulls it in): CHECK must be Catch's.
#undef CHECK
#include <catch2/catch.hpp>

using namespace folia::train;
using namespace folia::train::ssl;
namespace fs = std::filesystem;

namespace {

std::string env_or(const char *name, const std::string &fallback) {
    const char *v = std::getenv(name);
    return v && *v ? v : fallback;
}

// The slice, preprocessed in memory (no cache file). The committed leaf-grouped split is used
// when present (the slice's files are in it); otherwise a split of the slice is made in the
// build tree.
const workspace &slice() {
    static workspace w = [] {
        const std::string data = env_or("FOLIA_DATA", "");
        if (data.empty() || !fs::exists(data))
            FAIL(
                "FOLIA_DATA is not set or missing: the SSL simulation test needs the PlantVillage "
                "folder (export FOLIA_DATA=/path/to/plantvillage)");
        workspace r;
        r.data = subset_dataset(scan_dataset(data), 4, 50);
        const std::string committed =
            env_or("FOLIA_SOURCE_DIR", ".") + "/training/splits/plantvillage-seed42.json";
        const std::string split =
            fs::exists(committed) ? committed
                                  : env_or("FOLIA_BINARY_DIR", fs::temp_directory_path().string()) +
                                        "/ssl-test-split.json";
        r.split = load_or_make_split(split, r.data, split_params{});
        r.images = build_cache(r.data, 32, 2, false);
        return r;
    }();
    return w;
}

// The exported model file in the native engine (not LibTorch) on the cached images: the share
// of images whose top class is their true label, and how many were near ties (top-2
// probabilities within 1e-3, where the engine's and LibTorch's rounding may disagree).
struct engine_accuracy {
    double acc = 0;
    int near_ties = 0, n = 0;
};
engine_accuracy engine_accuracy_of(const std::string &model_path, const workspace &w,
                                   const std::vector<int> &idx) {
    const std::vector<uint8_t> bytes = folia::train::read_file_bytes(model_path);
    folia_params params = folia_default_params();
    folia_context *ctx = nullptr;
    REQUIRE(folia_init_from_buffer(bytes.data(), bytes.size(), &params, &ctx) == FOLIA_OK);
    REQUIRE(folia_input_size(ctx) == w.images.size);
    std::vector<float> probs(static_cast<size_t>(folia_num_classes(ctx)));
    engine_accuracy r;
    int correct = 0;
    for (int i : idx) {
        REQUIRE(folia_classify(ctx, w.images.image(size_t(i)), w.images.size, w.images.size,
                               w.images.size * 3, 3, probs.data()) == FOLIA_OK);
        std::vector<float> sorted = probs;
        std::sort(sorted.begin(), sorted.end(), std::greater<float>());
        const int top = int(std::max_element(probs.begin(), probs.end()) - probs.begin());
        correct += std::string(folia_label(ctx, top)) ==
                   w.data.classes[size_t(w.data.samples[size_t(i)].label)];
        r.near_ties += sorted[0] - sorted[1] < 1e-3f;
    }
    folia_free(ctx);
    r.n = int(idx.size());
    r.acc = r.n ? double(correct) / r.n : 0.0;
    return r;
}

// A checkpoint's eval-mode softmax on the slice's stream images, straight from LibTorch: the
// reference the methods' own labelling of the stream is checked against. Returns (confidence,
// class) of each image's top class, in stream order.
// LibTorch's eval-mode softmax of a checkpoint on one part's cached images: (n, K) f32.
torch::Tensor part_softmax(const std::string &checkpoint, const workspace &w, part p) {
    folia_net m = make_model(int(w.data.classes.size()), 1);
    REQUIRE(load_checkpoint(checkpoint, m, nullptr, nullptr));
    const std::vector<int> idx = w.split.indices({p});
    const size_t per = size_t(w.images.size) * w.images.size * 3;
    std::vector<uint8_t> u8;
    for (int i : idx)
        u8.insert(u8.end(), w.images.image(size_t(i)), w.images.image(size_t(i)) + per);
    return torch::softmax(predict_logits(m, u8.data(), int64_t(idx.size()), w.images.size), 1);
}

std::tuple<torch::Tensor, torch::Tensor> stream_top1(const std::string &checkpoint,
                                                     const workspace &w) {
    return part_softmax(checkpoint, w, part::stream).max(1);
}

// Top-1 accuracy of (n, K) probabilities on one part.
double part_accuracy(const torch::Tensor &probs, const workspace &w, part p) {
    const std::vector<int> idx = w.split.indices({p});
    const torch::Tensor pred = probs.argmax(1);
    int ok = 0;
    for (size_t j = 0; j < idx.size(); ++j)
        ok += pred[int64_t(j)].item<int64_t>() == w.data.samples[size_t(idx[j])].label;
    return double(ok) / double(idx.size());
}

std::string fresh_dir(const std::string &name) {
    const fs::path p = fs::path(env_or("FOLIA_BINARY_DIR", fs::temp_directory_path().string())) /
                       "ssl-test-runs" / name;
    fs::remove_all(p);
    return p.string();
}

sim_options small_options(const std::string &out) {
    sim_options o;
    o.out = out;
    o.data.size = 32;
    o.seed = 3;
    // A model pre-trained on ~40 images is unsure: tau 0.4 (chance is 0.25) still exercises
    // both sides of the threshold.
    o.ssl.tau = 0.4;
    o.ssl.cap_per_class = 8;
    o.ssl.images_per_day = 10;
    o.ssl.retrain_threshold = 12;
    o.ssl.ramp_epochs = 3;
    o.ssl.lambda = 0.8;
    o.ssl.retrain_epochs = 2;
    o.pre.epochs = 10;
    o.pre.batch = 8;
    o.pre.lr = 2e-3;
    o.pre.patience = 0;
    o.retrain_lr = 5e-4;
    o.progress = false;
    return o;
}

// A student's knobs for the slice: a few epochs of 8 images at 32 px, no early stopping.
student_options small_student(const std::string &out, int epochs) {
    student_options so;
    so.out = out;
    so.data.size = 32;
    so.seed = 5;
    so.cfg.epochs = epochs;
    so.cfg.batch = 8;
    so.cfg.lr = 2e-3;
    so.cfg.patience = 0;
    so.progress = false;
    return so;
}

}  // namespace

TEST_CASE("SSL simulation on a real-data slice: stream, threshold, cap, trigger, ramp, resume",
          "[ssl]") {
    const workspace &w = slice();
    const int n_stream = int(w.split.indices({part::stream}).size());
    REQUIRE(n_stream >= 60);  // enough for several days and retrains

    const sim_options o = small_options(fresh_dir("full"));
    const nlohmann::json r = run_ssl(o, &w);
    REQUIRE(r["complete"] == true);
    CHECK(fs::exists(o.out + "/state.pt"));
    CHECK(fs::exists(o.out + "/results.json"));

    // Every stream image arrives exactly once, 10 a day.
    const auto &days = r["days"];
    REQUIRE(int(days.size()) == (n_stream + 9) / 10);
    int arrived = 0, accepted = 0, correct = 0, capped = 0;
    std::map<int, int> buffer_trace;
    int buffer = 0, retrains = 0;
    for (size_t i = 0; i < days.size(); ++i) {
        const auto &d = days[i];
        CHECK(d["arrived"] == (i + 1 < days.size() ? 10 : n_stream - 10 * int(i)));
        CHECK(int(d["accepted"]) + int(d["below_tau"]) + int(d["capped"]) == int(d["arrived"]));
        arrived += int(d["arrived"]);
        accepted += int(d["accepted"]);
        correct += int(d["correct"]);
        capped += int(d["capped"]);
        // Buffer trigger: the buffer grows by the day's acceptances; a retrain happens exactly
        // when it reaches the threshold (or on the last day with anything left) and empties it.
        buffer += int(d["accepted"]);
        CHECK(d["buffer"] == buffer);
        const bool last = i + 1 == days.size();
        const bool due = buffer >= o.ssl.retrain_threshold || (last && buffer > 0);
        CHECK(d["retrained"] == due);
        if (due) {
            buffer = 0;
            ++retrains;
        }
    }
    CHECK(arrived == n_stream);
    const auto &fin = r["final"];
    CHECK(fin["accepted"] == accepted);
    CHECK(fin["accepted_used"] == accepted);  // the final retrain used the last buffer
    CHECK(fin["left_in_buffer"] == 0);
    CHECK(fin["precision"].get<double>() == Approx(double(correct) / accepted));
    REQUIRE(accepted > 0);  // the mechanics ran
    CHECK(r["final"]["below_tau"].get<int>() + capped + accepted == n_stream);
    // The cap: no class above 8 pseudo-labels, and with ~100 confident images for 4 classes it
    // must have bitten.
    CHECK(fin["max_accepted_per_class"].get<int>() <= 8);
    CHECK(capped > 0);
    CHECK(fin["max_accepted_per_class"].get<int>() == 8);

    // Rounds: one per trigger; lambda * ramp(t) with t the global pseudo-label epoch (1-based).
    const auto &rounds = r["rounds"];
    REQUIRE(int(rounds.size()) == retrains);
    REQUIRE(retrains >= 2);
    int used = 0;
    for (size_t i = 0; i < rounds.size(); ++i) {
        const auto &rd = rounds[i];
        used += int(rd["new_labels"]);
        CHECK(rd["accepted_total"] == used);
        CHECK(rd["train_items"] == int(r["labeled_images"]) + used);
        const double t_first = double(i) * o.ssl.retrain_epochs + 1;
        const double t_last = t_first + o.ssl.retrain_epochs - 1;
        CHECK(rd["ramp_first"].get<double>() ==
              Approx(o.ssl.lambda * std::min(t_first / 3.0, 1.0)));
        CHECK(rd["ramp_last"].get<double>() == Approx(o.ssl.lambda * std::min(t_last / 3.0, 1.0)));
        CHECK(std::isfinite(rd["loss"].get<double>()));
    }
    CHECK(rounds.back()["ramp_last"].get<double>() == Approx(o.ssl.lambda));  // ramp completed
    // Pre-training (resumable, in <out>/pretrain) ran its epochs and its loss went down.
    const nlohmann::json hist =
        nlohmann::json::parse(folia::train::read_file_bytes(o.out + "/pretrain/history.json"));
    REQUIRE(hist["epochs"].size() == 10);
    CHECK(hist["epochs"].back()["train_loss"].get<double>() <
          hist["epochs"].front()["train_loss"].get<double>());

    // One selection rule: the top-level accuracies are the best-validation checkpoint's, over
    // the supervised start (round 0) and the rounds; last_* are the final model's.
    double best_val = r["pretrain"]["val_acc"], best_test = r["pretrain"]["test_acc"];
    for (const auto &rd : rounds)
        if (rd["val_acc"].get<double>() > best_val) {
            best_val = rd["val_acc"];
            best_test = rd["test_acc"];
        }
    CHECK(r["val_acc"].get<double>() == best_val);
    CHECK(r["test_acc"].get<double>() == best_test);
    CHECK(r["last_val_acc"] == rounds.back()["val_acc"]);
    CHECK(r["method"] == "fixed-tau");

    SECTION("the control trains each round's optimiser steps on labeled images only") {
        sim_options c = small_options(fresh_dir("control"));
        c.control_of = o.out + "/results.json";
        const nlohmann::json cr = run_ssl(c, &w);
        REQUIRE(cr["complete"] == true);
        CHECK(cr["kind"] == "control");
        CHECK(cr["final"]["accepted"] == 0);  // no pseudo-label was made
        // Same start (same seed, same pre-training).
        CHECK(cr["pretrain"]["val_acc"] == r["pretrain"]["val_acc"]);
        REQUIRE(cr["rounds"].size() == rounds.size());
        for (size_t i = 0; i < rounds.size(); ++i) {
            // SSL round: 2 epochs x floor(items / 8) steps of 8; the control's images are
            // those steps x 8, all of them labeled.
            const int n = rounds[i]["train_items"];
            CHECK(cr["rounds"][i]["train_items"] == o.ssl.retrain_epochs * (n / 8) * 8);
        }
        // An unfinished or non-SSL results file is refused.
        nlohmann::json partial = r;
        partial["complete"] = false;
        CHECK_THROWS_WITH(control_schedule(partial), Catch::Contains("complete SSL run"));
    }

    SECTION("a noisy student trains a fresh model on labeled + the teacher's pseudo-labels") {
        student_options so = small_student(fresh_dir("student"), 3);
        so.teacher = o.out;
        so.export_model = so.out + "/model.folia";
        const nlohmann::json sr = run_student(so, &w);
        CHECK(sr["kind"] == "ssl");
        CHECK(sr["method"] == "noisy-student");
        CHECK(sr["complete"] == true);
        // Every pseudo-label the teacher used, with its labels and precision, and nothing else.
        CHECK(sr["final"]["accepted_used"] == fin["accepted_used"]);
        CHECK(sr["final"]["accepted_per_class"] == fin["accepted_per_class"]);
        CHECK(sr["final"]["precision_used"].get<double>() ==
              Approx(fin["precision_used"].get<double>()));
        CHECK(sr["train_images"] == int(r["labeled_images"]) + int(fin["accepted_used"]));
        CHECK(sr["pretrain"] == r["pretrain"]);  // the chain's 20 % start, for the gain
        CHECK(sr["teacher"]["method"] == "fixed-tau");
        // The supervised schedule, best validation epoch: 3 epochs, val_acc the history's best.
        REQUIRE(sr["history"].size() == 3);
        double best = -1;
        for (const auto &h : sr["history"]) best = std::max(best, h["val_acc"].get<double>());
        CHECK(sr["val_acc"].get<double>() == Approx(best));
        const engine_accuracy e =
            engine_accuracy_of(so.export_model, w, w.split.indices({part::val}));
        CHECK(sr["val_acc"].get<double>() ==
              Approx(e.acc).margin(double(e.near_ties) / e.n + 1e-9));

        // The confidence floor keeps exactly the teacher's pseudo-labels at or above it.
        const ssl_state ts =
            ssl_state::from_json(read_checkpoint_meta(o.out + "/state.pt").at("state"));
        REQUIRE(!ts.accepted.empty());
        std::vector<float> conf;
        for (const auto &p : ts.accepted) conf.push_back(p.confidence);
        std::sort(conf.begin(), conf.end());
        so.min_confidence = conf[conf.size() / 2];
        const auto kept = std::count_if(conf.begin(), conf.end(),
                                        [&](float c) { return c >= so.min_confidence; });
        so.out = fresh_dir("student-floor");
        so.export_model.clear();
        so.cfg.epochs = 1;
        CHECK(run_student(so, &w)["final"]["accepted_used"] == kept);

        // A teacher that is missing, unfinished or at another size is refused, clearly.
        so.teacher = fresh_dir("no-teacher");
        CHECK_THROWS_WITH(run_student(so, &w), Catch::Contains("has no results.json"));
        const std::string bad = fresh_dir("bad-teacher");
        fs::create_directories(bad);
        fs::copy_file(o.out + "/state.pt", bad + "/state.pt");
        nlohmann::json partial = r;
        partial["complete"] = false;
        write_file_atomic(bad + "/results.json", partial.dump());
        so.teacher = bad;
        CHECK_THROWS_WITH(run_student(so, &w), Catch::Contains("not a complete SSL run"));
        nlohmann::json other_size = r;
        other_size["data"]["size"] = 64;
        write_file_atomic(bad + "/results.json", other_size.dump());
        CHECK_THROWS_WITH(run_student(so, &w), Catch::Contains("ran at 64 px"));
    }

    SECTION("a balanced student labels every stream image with a teacher checkpoint, N per class") {
        const std::string start = o.out + "/pretrain/best.pt";
        REQUIRE(fs::exists(start));
        // The reference: LibTorch's eval-mode softmax of the same weights on the stream images.
        const int k = int(w.data.classes.size());
        const std::vector<int> stream = w.split.indices({part::stream});
        const auto [conf, pred] = stream_top1(start, w);
        // Per predicted class, (confidence, correct) of its images; the top 3 of each by
        // confidence are what a 3-per-class student must train on.
        std::vector<std::vector<std::pair<float, bool>>> by_class(static_cast<size_t>(k));
        int correct_all = 0;
        for (size_t j = 0; j < stream.size(); ++j) {
            const int64_t c = pred[int64_t(j)].item<int64_t>();
            const bool ok = c == w.data.samples[size_t(stream[j])].label;
            by_class[size_t(c)].push_back({conf[int64_t(j)].item<float>(), ok});
            correct_all += ok;
        }
        int expected_n = 0, expected_ok = 0;
        std::vector<int> expected_per(static_cast<size_t>(k), 0);
        for (size_t c = 0; c < size_t(k); ++c) {
            auto &v = by_class[c];
            std::stable_sort(v.begin(), v.end(),
                             [](const auto &a, const auto &b) { return a.first > b.first; });
            for (size_t j = 0; j < std::min<size_t>(3, v.size()); ++j) {
                ++expected_per[c];
                expected_ok += v[j].second;
            }
            expected_n += expected_per[c];
        }
        REQUIRE(expected_n < int(stream.size()));  // the cap of 3 bites somewhere

        student_options so = small_student(fresh_dir("balanced"), 2);
        so.teacher_model = start;
        so.top_per_class = 3;
        const nlohmann::json sr = run_student(so, &w);
        CHECK(sr["kind"] == "ssl");
        CHECK(sr["method"] == "balanced-student");
        CHECK(sr["teacher"]["per_class"] == 3);
        CHECK(sr["final"]["accepted_used"] == expected_n);
        for (size_t c = 0; c < size_t(k); ++c)
            CHECK(sr["final"]["accepted_per_class"][w.data.classes[c]] == expected_per[c]);
        CHECK(sr["final"]["precision_used"].get<double>() ==
              Approx(double(expected_ok) / expected_n));
        CHECK(sr["train_images"] == int(r["labeled_images"]) + expected_n);
        // The teacher is the SSL run's supervised start: the same weights, the same accuracy.
        CHECK(sr["pretrain"]["test_acc"].get<double>() ==
              Approx(r["pretrain"]["test_acc"].get<double>()));
        CHECK(sr["teacher"]["val_acc"].get<double>() ==
              Approx(r["pretrain"]["val_acc"].get<double>()));
        REQUIRE(sr["history"].size() == 2);
        CHECK(fs::exists(so.out + "/best.pt"));

        // Per class 0: every stream image, labelled by the teacher's argmax.
        student_options all = so;
        all.top_per_class = 0;
        all.out = fresh_dir("balanced-all");
        all.cfg.epochs = 1;
        const nlohmann::json ar = run_student(all, &w);
        CHECK(ar["final"]["accepted_used"] == int(stream.size()));
        CHECK(ar["final"]["precision_used"].get<double>() ==
              Approx(double(correct_all) / double(stream.size())));

        // Iterating: the student's best.pt teaches the next one; the chain keeps its start.
        student_options next = all;
        next.teacher_model = so.out + "/best.pt";
        next.out = fresh_dir("balanced-next");
        const nlohmann::json nr = run_student(next, &w);
        CHECK(nr["teacher"]["method"] == "balanced-student");
        CHECK(nr["pretrain"] == sr["pretrain"]);

        // An ensemble teacher (the start and the first student): the stream is labelled by the
        // mean of the two models' LibTorch softmax, and the teacher's accuracy is the mean's.
        student_options ens = all;
        ens.teacher_model = start;
        ens.ensemble_with = {so.out + "/best.pt"};
        ens.out = fresh_dir("balanced-ensemble");
        const auto mean_of = [&](part p) {
            return (part_softmax(start, w, p) + part_softmax(so.out + "/best.pt", w, p)) / 2;
        };
        const torch::Tensor mean_stream = mean_of(part::stream);
        // The check below could not tell the ensemble from its first member otherwise.
        REQUIRE((mean_stream.argmax(1) != std::get<1>(stream_top1(start, w))).any().item<bool>());
        const nlohmann::json er = run_student(ens, &w);
        CHECK(er["final"]["accepted_used"] == int(stream.size()));
        CHECK(er["final"]["precision_used"].get<double>() ==
              Approx(part_accuracy(mean_stream, w, part::stream)));
        CHECK(er["teacher"]["val_acc"].get<double>() ==
              Approx(part_accuracy(mean_of(part::val), w, part::val)));
        CHECK(er["teacher"]["test_acc"].get<double>() ==
              Approx(part_accuracy(mean_of(part::test), w, part::test)));
        CHECK(er["teacher"]["ensemble_with"] == nlohmann::json(ens.ensemble_with));
        CHECK(er["pretrain"] == sr["pretrain"]);
        ens.ensemble_with = {fresh_dir("no-member") + "/best.pt"};
        CHECK_THROWS_WITH(run_student(ens, &w), Catch::Contains("--ensemble-with"));

        // Wrong combinations and a missing checkpoint are refused, clearly.
        student_options bad = so;
        bad.teacher = o.out;
        CHECK_THROWS_WITH(run_student(bad, &w), Catch::Contains("pass one of --teacher"));
        bad.teacher_model.clear();
        CHECK_THROWS_WITH(run_student(bad, &w), Catch::Contains("--top-per-class needs"));
        bad = so;
        bad.teacher_model = fresh_dir("no-model") + "/best.pt";
        CHECK_THROWS_WITH(run_student(bad, &w), Catch::Contains("does not exist"));
        bad = so;
        bad.top_per_class = -1;
        CHECK_THROWS_WITH(run_student(bad, &w), Catch::Contains("--top-per-class must be >= 0"));
    }

    SECTION("FixMatch trains on every stream image, unlabeled, from the supervised start") {
        const std::string start = o.out + "/pretrain/best.pt";
        REQUIRE(fs::exists(start));
        fixmatch_options fo;
        fo.out = fresh_dir("fixmatch");
        fo.pretrained = start;
        fo.data.size = 32;
        fo.seed = 4;
        fo.thresholds = "flex";
        fo.tau = 0.4;  // the start is unsure (see small_options)
        fo.tau_min = 0.2;
        fo.cfg.epochs = 2;
        fo.cfg.batch = 8;
        fo.cfg.lr = 1e-3;
        fo.cfg.patience = 0;
        fo.progress = false;
        fo.export_model = fo.out + "/model.folia";
        const nlohmann::json fr = run_fixmatch(fo, &w);
        CHECK(fr["kind"] == "ssl");
        CHECK(fr["method"] == "fixmatch-flex");
        CHECK(fr["unlabeled_images"] == n_stream);
        CHECK(fr["train_images"] == int(r["labeled_images"]) + n_stream);
        // The start's accuracies are the supervised start's (the SSL run measured the same
        // weights on the same images).
        CHECK(fr["pretrain"]["test_acc"].get<double>() ==
              Approx(r["pretrain"]["test_acc"].get<double>()));
        // Epoch 0's sigma, recomputed here from the start's weights: stream images predicted
        // as c with confidence >= tau (eval mode, no augmentation).
        const auto [conf, pred] = stream_top1(start, w);
        std::vector<int64_t> sigma(w.data.classes.size(), 0);
        for (int64_t j = 0; j < conf.numel(); ++j)
            if (conf[j].item<float>() >= float(fo.tau)) ++sigma[size_t(pred[j].item<int64_t>())];
        const auto &uh = fr["unlabeled_history"];
        REQUIRE(uh.size() == 2);
        CHECK(uh[0]["sigma"].get<std::vector<int64_t>>() == sigma);
        int64_t masked = 0;
        double loss_u = 0;
        for (const auto &e : uh) {
            masked += e["masked"].get<int64_t>();
            loss_u += e["loss_unlabeled"].get<double>();
            // Each epoch sees every unlabeled image once, less the dropped partial batch.
            CHECK(int(e["unlabeled_rows"]) <= n_stream);
            CHECK(int(e["unlabeled_rows"]) >= n_stream - (fo.cfg.batch - 1));
            CHECK(int(e["masked"]) <= int(e["unlabeled_rows"]));
            // The thresholds are class_thresholds of the recorded sigma, within [tau_min, tau].
            ssl_params p;
            p.method = "flexmatch";
            p.tau = fo.tau;
            p.tau_min = fo.tau_min;
            const auto tau = class_thresholds(p, e["sigma"].get<std::vector<int64_t>>(), n_stream);
            CHECK(e["threshold_min"].get<double>() ==
                  Approx(*std::min_element(tau.begin(), tau.end())));
            CHECK(e["threshold_max"].get<double>() ==
                  Approx(*std::max_element(tau.begin(), tau.end())));
            CHECK(e["threshold_min"].get<double>() >= fo.tau_min);
        }
        // The mask fires (tau 0.4 on an unsure start), so the unlabeled term trained.
        CHECK(masked > 0);
        CHECK(loss_u > 0);
        // Train accuracy counts the labeled rows only (unlabeled ones have no answer).
        for (const auto &h : fr["history"]) CHECK(h["train_acc"].get<double>() <= 1.0);
        // Best validation epoch, and that model is the exported one, in the native engine.
        double best = -1;
        for (const auto &h : fr["history"]) best = std::max(best, h["val_acc"].get<double>());
        CHECK(fr["val_acc"].get<double>() == Approx(best));
        const engine_accuracy e =
            engine_accuracy_of(fo.export_model, w, w.split.indices({part::val}));
        CHECK(fr["val_acc"].get<double>() ==
              Approx(e.acc).margin(double(e.near_ties) / e.n + 1e-9));
        // Fixed thresholds: method fixmatch, tau for every class; bad knobs are refused.
        fo.thresholds = "fixed";
        fo.out = fresh_dir("fixmatch-fixed");
        fo.export_model.clear();
        fo.cfg.epochs = 1;
        const nlohmann::json ff = run_fixmatch(fo, &w);
        CHECK(ff["method"] == "fixmatch");
        CHECK(ff["unlabeled_history"][0]["threshold_min"] == fo.tau);
        CHECK(ff["unlabeled_history"][0]["threshold_max"] == fo.tau);
        // Resume: one epoch, then --resume to two, equals two epochs in one go (a constant
        // learning rate, so the first epoch does not depend on the epoch count): the flex
        // thresholds of epoch 1 come from the checkpoint's weights, the history is whole.
        fo.thresholds = "flex";
        fo.cfg.schedule = "constant";
        fo.cfg.epochs = 2;
        fo.out = fresh_dir("fixmatch-whole");
        const nlohmann::json whole = run_fixmatch(fo, &w);
        fo.out = fresh_dir("fixmatch-resumed");
        fo.cfg.epochs = 1;
        run_fixmatch(fo, &w);
        fo.cfg.epochs = 2;
        fo.resume = true;
        const nlohmann::json resumed = run_fixmatch(fo, &w);
        REQUIRE(resumed["unlabeled_history"].size() == 2);
        CHECK(resumed["unlabeled_history"] == whole["unlabeled_history"]);
        CHECK(resumed["val_acc"] == whole["val_acc"]);
        CHECK(resumed["test_acc"] == whole["test_acc"]);
        fo.resume = false;
        fo.thresholds = "adaptive";
        CHECK_THROWS_WITH(run_fixmatch(fo, &w), Catch::Contains("fixed or flex"));
        fo.thresholds = "fixed";
        fo.cfg.weighting = "sqrt";
        CHECK_THROWS_WITH(run_fixmatch(fo, &w), Catch::Contains("--class-weights must be none"));
    }

    SECTION("a run stopped between checkpoints resumes to the same result") {
        // Stop one day after the first retrain: that day is lost (no checkpoint covers it) and
        // must be replayed identically on resume.
        int first_retrain_day = 0;
        for (const auto &d : days)
            if (d["retrained"] == true) {
                first_retrain_day = d["day"];
                break;
            }
        sim_options s = small_options(fresh_dir("stopped"));
        s.stop_after_days = first_retrain_day + 1;
        const nlohmann::json part = run_ssl(s, &w);
        CHECK(part["complete"] == false);
        // Starting again without --resume must not clobber the checkpoint.
        CHECK_THROWS_WITH(run_ssl(s, &w), Catch::Contains("--resume"));
        s.stop_after_days = 0;
        s.resume = true;
        const nlohmann::json res = run_ssl(s, &w);
        REQUIRE(res["complete"] == true);
        CHECK(res["days"] == r["days"]);
        CHECK(res["final"]["accepted_per_class"] == r["final"]["accepted_per_class"]);
        REQUIRE(res["rounds"].size() == rounds.size());
        for (size_t i = 0; i < rounds.size(); ++i) {
            CHECK(res["rounds"][i]["val_acc"] == rounds[i]["val_acc"]);
            CHECK(res["rounds"][i]["loss"].get<double>() ==
                  Approx(rounds[i]["loss"].get<double>()).epsilon(1e-5));
        }
        // Resuming with other settings is refused.
        sim_options other = s;
        other.ssl.tau = 0.7;
        CHECK_THROWS_WITH(run_ssl(other, &w), Catch::Contains("other SSL settings"));
    }
}

TEST_CASE("SSL supervised baseline labels the first stream images up to the requested share",
          "[ssl]") {
    const workspace &w = slice();
    supervised_options o;
    o.out = fresh_dir("supervised");
    o.data.size = 32;
    o.cfg.epochs = 2;
    o.cfg.batch = 8;
    o.cfg.lr = 2e-3;
    o.cfg.patience = 0;
    o.label_frac = 0.6;
    o.progress = false;
    o.export_model = o.out + "/model.folia";
    const nlohmann::json r = run_supervised(o, &w);
    const int labeled = int(w.split.indices({part::labeled}).size());
    const int pool = labeled + int(w.split.indices({part::stream}).size());
    CHECK(r["pool"] == pool);
    CHECK(r["train_images"] == std::lround(0.6 * pool));
    CHECK(r["stream_images_labeled"] == std::lround(0.6 * pool) - labeled);
    CHECK(r["epochs_run"] == 2);
    CHECK(fs::exists(o.out + "/best.pt"));
    // val_acc is the restored best epoch's: the best validation accuracy of the history, and
    // the exported model gives it again in the native engine, counted here by label name.
    double best = -1;
    for (const auto &h : r["history"]) best = std::max(best, h["val_acc"].get<double>());
    CHECK(r["val_acc"].get<double>() == Approx(best));
    const engine_accuracy e = engine_accuracy_of(o.export_model, w, w.split.indices({part::val}));
    REQUIRE(e.n > 0);
    CHECK(r["val_acc"].get<double>() == Approx(e.acc).margin(double(e.near_ties) / e.n + 1e-9));
    const engine_accuracy t = engine_accuracy_of(o.export_model, w, w.split.indices({part::test}));
    CHECK(r["test_acc"].get<double>() == Approx(t.acc).margin(double(t.near_ties) / t.n + 1e-9));
    o.label_frac = 0.0;
    CHECK_THROWS_AS(run_supervised(o, &w), std::invalid_argument);
}

TEST_CASE("The trainer gives weak-view items a second view of the same image, the batch's other",
          "[ssl][fixmatch]") {
    const workspace &w = slice();
    train_config cfg;
    cfg.seed = 9;
    cfg.progress = false;
    // Weak = identity (every probability 0), so the weak view must be the plain image; the
    // first view of source 2 is strong.
    cfg.aug = folia::augment_params{};
    cfg.aug.flip_p = cfg.aug.rotate_p = cfg.aug.color_p = cfg.aug.noise_p = 0.0f;
    folia::augment_params strong = folia::field_augment_params();
    strong.cutout_p = 1.0f;
    cfg.aug_by_source = {cfg.aug, cfg.aug, strong};
    cfg.weak_view_source = 2;
    trainer t(make_model(int(w.data.classes.size()), 1), w.images, cfg);
    std::vector<train_item> items;
    for (int i = 0; i < 6; ++i) items.push_back({i, i < 3 ? 0 : -1, 1.0f, i < 3 ? 0 : 2});
    const train_batch b = t.make_batch(items, 0, items.size(), 0);
    REQUIRE(b.weak_rows.defined());
    CHECK(b.weak_rows.equal(torch::tensor({3, 4, 5}, torch::kInt64)));
    REQUIRE(b.x_weak.size(0) == 3);
    // The reference: the same items without any augmentation.
    train_config plain = cfg;
    plain.augment = false;
    plain.weak_view_source = -1;
    trainer tp(make_model(int(w.data.classes.size()), 1), w.images, plain);
    const train_batch p = tp.make_batch(items, 0, items.size(), 0);
    CHECK(!p.x_weak.defined());
    for (int j = 0; j < 3; ++j) {
        CHECK(b.x_weak[j].equal(p.x[3 + j]));
        CHECK(!b.x[3 + j].equal(p.x[3 + j]));  // Cutout always: the strong view differs
        CHECK(b.x[j].equal(p.x[j]));           // labeled rows: identity augmentation
    }
}
