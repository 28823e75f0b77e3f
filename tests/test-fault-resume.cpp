// test-fault-resume.cpp: fault injection in training ([fault]). folia-train killed with SIGKILL
// at seeded random points (mid-epoch steps, mid-write of a checkpoint or history file, random
// wall-clock times) and restarted with --resume ends with exactly the model an uninterrupted run
// with the same seed makes: the exported model files are byte-identical and every tensor of
// best.pt and last.pt (weights, BatchNorm statistics, Adam moments) is equal. An export
// interrupted mid-write (injected full disk, or SIGKILL) never replaces the good model file.
//
// Tiny real-data run: 3 classes x 10 images of $FOLIA_DATA at 32x32, batch 2, 4 epochs, one
// thread. Kill points come from FOLIA_FAULT_SEED (default 14) and are printed on failure.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <random>
#include <sstream>

#include "checkpoint.h"
#include "file-io.h"
#include "folia.h"
#include "test-support.h"

// Last, and after dropping glog's CHECK (LibTorch's logging pulls it in): CHECK must be Catch's.
#undef CHECK
#include <catch2/catch.hpp>

using namespace folia::train;
using folia_test::data_root;
using folia_test::outcome;
using folia_test::read_text;
using folia_test::temp_files;
namespace fs = std::filesystem;

namespace {

fs::path scratch(const std::string &name) {
    return folia_test::fresh_dir("fault-test-" + name);
}

// Runs argv with extra environment entries (any FOLIA_FAULT_* of ours dropped: each run injects
// only its own faults), stdout+stderr appended to log; SIGKILLs it after kill_after_s seconds
// (< 0: never) unless it ended before.
outcome spawn(const std::vector<std::string> &argv, const std::vector<std::string> &env_set,
              const std::string &log, double kill_after_s = -1) {
    return folia_test::run_logged(argv, folia_test::child_env(env_set, {"FOLIA_FAULT_"}), log,
                                  kill_after_s);
}

// folia-train train with the tiny configuration, its cache in `work`. The split file is the
// test's one (run.json, hence the exported model's metadata, holds its path).
std::vector<std::string> train_args(const fs::path &work, const fs::path &out, int epochs,
                                    bool resume) {
    std::vector<std::string> a = {FOLIA_TRAIN_EXE, "train",
                                  "--data",        data_root(),
                                  "--max-classes", "3",
                                  "--per-class",   "10",
                                  "--size",        "32",
                                  "--batch",       "2",
                                  "--lr",          "3e-3",
                                  "--epochs",      std::to_string(epochs),
                                  "--threads",     "1",
                                  "--seed",        "5",
                                  "--split",       (work.parent_path() / "split.json").string(),
                                  "--cache-dir",   (work / "cache").string(),
                                  "--out",         out.string()};
    if (resume) a.push_back("--resume");
    return a;
}

outcome export_model(const fs::path &run, const fs::path &out, const std::string &log,
                     const std::vector<std::string> &env = {}, const std::string &ckpt = "") {
    std::vector<std::string> a = {FOLIA_TRAIN_EXE, "export",     "--run",    run.string(),
                                  "--out",         out.string(), "--golden", ""};
    if (!ckpt.empty()) a.insert(a.end(), {"--checkpoint", ckpt});
    return spawn(a, env, log);
}

int64_t saved_step(const fs::path &run, int *next_epoch) {
    *next_epoch = 0;
    if (!fs::exists(run / "last.pt")) return 0;
    const nlohmann::json m = read_checkpoint_meta((run / "last.pt").string());
    *next_epoch = m.at("next_epoch");
    return m.at("step");
}

// LibTorch keys an optimiser's per-parameter state by the parameter's TensorImpl address.
std::string state_key(const torch::Tensor &p) {
    std::ostringstream s;
    s << p.unsafeGetTensorImpl();
    return s.str();
}

// Every tensor of two checkpoints: model parameters and buffers by name, then the optimiser's
// archive (Adam moments, step counts) compared key by key.
void check_same_checkpoint(const fs::path &a, const fs::path &b, bool optimizer) {
    const nlohmann::json ma = read_checkpoint_meta(a.string());
    folia_net na(arch_from_json(ma.at("arch"))), nb(arch_from_json(ma.at("arch")));
    auto oa = std::make_unique<torch::optim::Adam>(na->parameters());
    auto ob = std::make_unique<torch::optim::Adam>(nb->parameters());
    nlohmann::json ja, jb;
    REQUIRE(load_checkpoint(a.string(), na, optimizer ? oa.get() : nullptr, &ja));
    REQUIRE(load_checkpoint(b.string(), nb, optimizer ? ob.get() : nullptr, &jb));
    int tensors = 0;
    auto pb = nb->named_parameters(true);
    for (const auto &p : na->named_parameters(true)) {
        INFO(a.filename().string() << " parameter " << p.key());
        CHECK(torch::equal(p.value(), pb[p.key()]));
        ++tensors;
    }
    auto bb = nb->named_buffers(true);
    for (const auto &p : na->named_buffers(true)) {
        INFO(a.filename().string() << " buffer " << p.key());
        CHECK(torch::equal(p.value(), bb[p.key()]));
        ++tensors;
    }
    CHECK(tensors > 10);
    if (optimizer) {
        auto &sa = oa->state();
        auto &sb = ob->state();
        REQUIRE(sa.size() == sb.size());
        REQUIRE(!sa.empty());
        auto params_a = na->parameters();
        auto params_b = nb->parameters();
        for (size_t i = 0; i < params_a.size(); ++i) {
            const auto &x =
                static_cast<const torch::optim::AdamParamState &>(*sa.at(state_key(params_a[i])));
            const auto &y =
                static_cast<const torch::optim::AdamParamState &>(*sb.at(state_key(params_b[i])));
            INFO("Adam state of parameter " << i);
            CHECK(x.step() == y.step());
            CHECK(torch::equal(x.exp_avg(), y.exp_avg()));
            CHECK(torch::equal(x.exp_avg_sq(), y.exp_avg_sq()));
        }
    }
    // The history's numbers (losses, accuracies, LRs), not its wall-clock fields.
    auto strip = [](nlohmann::json j) {
        for (auto &h : j["history"]) h.erase("seconds"), h.erase("images_per_s");
        return j;
    };
    CHECK(strip(ja).dump() == strip(jb).dump());
}

}  // namespace

TEST_CASE("folia-train killed with SIGKILL at 7 seeded random points resumes to the exact model",
          "[fault][training]") {
    if (data_root().empty()) FAIL("FOLIA_DATA must point at the PlantVillage folder");
    const int epochs = 4;
    const fs::path dir = scratch("resume");
    const fs::path ref_work = dir / "ref-work", ref = dir / "ref";

    // The uninterrupted run, and how long startup + one epoch takes (the time kills' window).
    const outcome full =
        spawn(train_args(ref_work, ref, epochs, false), {}, (dir / "ref.log").string());
    INFO(read_text(dir / "ref.log"));
    REQUIRE(full.exit_code == 0);
    const outcome one =
        spawn(train_args(ref_work, dir / "one", 1, false), {}, (dir / "one.log").string());
    REQUIRE(one.exit_code == 0);
    int ref_epochs = 0;
    const int64_t total_steps = saved_step(ref, &ref_epochs);
    REQUIRE(ref_epochs == epochs);
    REQUIRE(total_steps >= 4 * epochs);  // several steps per epoch: mid-epoch kills exist
    const int64_t steps_per_epoch = total_steps / epochs;

    // The interrupted run: its own image cache (kills may land while it is written).
    const char *seed_env = std::getenv("FOLIA_FAULT_SEED");
    const uint64_t seed = seed_env && *seed_env ? std::strtoull(seed_env, nullptr, 10) : 14;
    std::mt19937_64 rng(seed);
    std::vector<std::string> plan = {"step", "step", "step", "write", "write", "time", "time"};
    std::shuffle(plan.begin(), plan.end(), rng);
    const fs::path work = dir / "work", run = dir / "run";
    std::stringstream story;
    story << "seed " << seed << ", uninterrupted " << full.seconds << " s, one epoch "
          << one.seconds << " s, " << total_steps << " steps\n";
    int kills = 0;
    for (size_t i = 0; i < plan.size(); ++i) {
        int next_epoch = 0;
        const int64_t step = saved_step(run, &next_epoch);
        if (next_epoch >= epochs) break;  // killed after its last checkpoint: nothing to kill
        const int64_t remaining_epochs = epochs - next_epoch;
        std::vector<std::string> env;
        double after_s = -1;
        if (plan[i] == "step") {
            // Any step of the epochs still to run (the run restarts at the epoch boundary).
            const int64_t s = std::uniform_int_distribution<int64_t>(
                step + 1, step + remaining_epochs * steps_per_epoch)(rng);
            env.push_back("FOLIA_FAULT_KILL_AT_STEP=" + std::to_string(s));
            story << "segment " << i << ": kill at step " << s;
        } else if (plan[i] == "write") {
            // The (K+1)-th atomic write, cut after B bytes: run.json, then per epoch best.pt
            // (when better), last.pt, history.json; K <= remaining epochs always lands before
            // the final epoch's history.json.
            const int k = std::uniform_int_distribution<int>(0, int(remaining_epochs))(rng);
            const int b = std::uniform_int_distribution<int>(0, 200)(rng);
            env = {"FOLIA_FAULT_WRITE_SKIP=" + std::to_string(k),
                   "FOLIA_FAULT_WRITE_AFTER_BYTES=" + std::to_string(b),
                   "FOLIA_FAULT_WRITE_KILL=1"};
            story << "segment " << i << ": kill in write " << k + 1 << " after " << b << " bytes";
        } else {
            after_s = std::uniform_real_distribution<double>(0.05, 0.6)(rng) * one.seconds;
            story << "segment " << i << ": kill after " << after_s << " s";
        }
        const outcome o =
            spawn(train_args(work, run, epochs, i > 0), env, (dir / "run.log").string(), after_s);
        saved_step(run, &next_epoch);
        story << (o.killed ? " -> killed" : " -> exited " + std::to_string(o.exit_code))
              << ", last.pt next_epoch " << next_epoch << "\n";
        kills += o.killed;
    }
    const outcome last = spawn(train_args(work, run, epochs, true), {}, (dir / "run.log").string());
    std::printf("%s", story.str().c_str());  // where the kills landed, for the CI log
    INFO(story.str() << "log:\n" << read_text(dir / "run.log"));
    REQUIRE(last.exit_code == 0);
    CHECK(kills >= 5);
    CHECK(temp_files(run).empty());  // the resumed run removed what the killed ones left

    check_same_checkpoint(ref / "best.pt", run / "best.pt", false);
    check_same_checkpoint(ref / "last.pt", run / "last.pt", true);
    const nlohmann::json ha = read_json_file((ref / "history.json").string());
    const nlohmann::json hb = read_json_file((run / "history.json").string());
    REQUIRE(hb.at("epochs").size() == size_t(epochs));
    for (int e = 0; e < epochs; ++e) {
        CHECK(ha["epochs"][e]["train_loss"] == hb["epochs"][e]["train_loss"]);
        CHECK(ha["epochs"][e]["val_acc"] == hb["epochs"][e]["val_acc"]);
    }
    REQUIRE(export_model(ref, dir / "ref.folia", (dir / "export.log").string()).exit_code == 0);
    REQUIRE(export_model(run, dir / "run.folia", (dir / "export.log").string()).exit_code == 0);
    const auto a = read_file_bytes((dir / "ref.folia").string());
    const auto b = read_file_bytes((dir / "run.folia").string());
    CHECK(a.size() > 1000);
    CHECK(a == b);  // bit-identical: no tolerance needed on one thread
}

TEST_CASE("An export interrupted mid-write never replaces the good model file",
          "[fault][training]") {
    if (data_root().empty()) FAIL("FOLIA_DATA must point at the PlantVillage folder");
    const fs::path dir = scratch("export");
    const outcome t =
        spawn(train_args(dir / "work", dir / "run", 2, false), {}, (dir / "train.log").string());
    INFO(read_text(dir / "train.log"));
    REQUIRE(t.exit_code == 0);
    const fs::path out = dir / "models" / "m.folia", log = dir / "export.log";
    // The good file: best.pt. The replacement attempts export last.pt: other bytes.
    REQUIRE(export_model(dir / "run", out, log.string()).exit_code == 0);
    const auto good = read_file_bytes(out.string());
    const fs::path other = dir / "other.folia";
    REQUIRE(export_model(dir / "run", other, log.string(), {}, (dir / "run" / "last.pt").string())
                .exit_code == 0);
    const auto newer = read_file_bytes(other.string());
    REQUIRE(newer != good);
    const std::string half = std::to_string(good.size() / 2);
    const std::string last_pt = (dir / "run" / "last.pt").string();

    SECTION("a full disk half-way: a clear error, the old file intact, no temp file") {
        fs::remove(log);
        const outcome o = export_model(dir / "run", out, log.string(),
                                       {"FOLIA_FAULT_WRITE_AFTER_BYTES=" + half}, last_pt);
        const std::string msg = read_text(log);
        INFO(msg);
        CHECK_FALSE(o.killed);
        CHECK(o.exit_code != 0);
        CHECK_THAT(msg, Catch::Contains("No space left on device") && Catch::Contains("m.folia"));
        CHECK(read_file_bytes(out.string()) == good);
        CHECK(temp_files(out.parent_path()).empty());
    }
    SECTION("SIGKILL half-way: the old file intact and loadable, the stale temp file ignored") {
        const outcome o = export_model(
            dir / "run", out, log.string(),
            {"FOLIA_FAULT_WRITE_AFTER_BYTES=" + half, "FOLIA_FAULT_WRITE_KILL=1"}, last_pt);
        CHECK(o.killed);
        CHECK(read_file_bytes(out.string()) == good);
        const auto stale = temp_files(out.parent_path());
        REQUIRE(stale.size() == 1);  // a killed process cannot clean up
        CHECK(fs::file_size(stale[0]) == good.size() / 2);
        folia_context *ctx = nullptr;
        folia_params p = folia_default_params();
        p.num_threads = 1;
        CHECK(folia_init_from_buffer(good.data(), good.size(), &p, &ctx) == FOLIA_OK);
        folia_free(ctx);
        // The next export is not disturbed by the stale temp file and replaces the model.
        REQUIRE(export_model(dir / "run", out, log.string(), {}, last_pt).exit_code == 0);
        CHECK(read_file_bytes(out.string()) == newer);
    }
}
