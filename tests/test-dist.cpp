// Data-parallel training tests ([dist]): real folia-train processes on 127.0.0.1 (a free port
// picked at run time) on a 3-class x 12-image slice of $FOLIA_DATA at 32x32, no augmentation.
//   - 2 ranks x batch 4 end with the weights (every parameter and BatchNorm buffer) of one
//     process with batch 8, same seed, within 1e-4 (Adam lr 1e-4: at 3e-3 Adam turns float
//     noise in the gradients of the conv biases before BatchNorm, zero in exact arithmetic,
//     into ~1e-3 steps). Dropout stays on: both draw the global
//     batch's mask from the same generator state (dist.h global_batch_dropout).
//   - SIGKILL of rank 1 mid-run: rank 0 exits non-zero within 60 s naming rank 1; the job then
//     resumes from the last checkpoint with `launch` and finishes.
//   - launch fails fast: one killed rank stops the others and launch exits non-zero.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "checkpoint.h"
#include "file-io.h"
#include "test-support.h"

// Last, and after dropping glog's CHECK (LibTorch's logging pulls it in): CHECK must be Catch's.
#undef CHECK
#include <catch2/catch.hpp>

using namespace folia::train;
using folia_test::data_root;
using folia_test::read_text;
using folia_test::wait_for;
namespace fs = std::filesystem;

namespace {

fs::path scratch(const std::string &name) {
    return folia_test::fresh_dir("dist-test-" + name);
}

int free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr *>(&a), sizeof a) == 0);
    REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr *>(&a), &len) == 0);
    ::close(fd);
    return ntohs(a.sin_port);
}

// The slice, split and cache every run of a test shares; `extra` adds per-run flags.
std::string train_args(const fs::path &dir, const std::string &extra) {
    return "train --data '" + data_root() + "' --max-classes 3 --per-class 12 --size 32 " +
           "--no-augment --lr 1e-4 --warmup 0.5 --patience 0 --seed 7 --split '" +
           (dir / "split.json").string() + "' --cache-dir '" + (dir / "cache").string() + "' " +
           extra;
}

std::string cache_args(const fs::path &dir) {
    return "cache --data '" + data_root() + "' --max-classes 3 --per-class 12 --size 32 --split '" +
           (dir / "split.json").string() + "' --cache-dir '" + (dir / "cache").string() + "'";
}

std::string exe() {
    return std::string("'") + FOLIA_TRAIN_EXE + "' ";
}

// Runs a command line to its end, output to log (a fresh file: each run has its own): the exit
// code. A failed run's log is shown with the assertion that follows.
int run(const std::string &cmd, const fs::path &log) {
    const int code = folia_test::run_shell(cmd, log.string());
    if (code != 0) UNSCOPED_INFO(read_text(log));
    return code;
}

// Starts a command line as our child, output to log, so we can wait for its exit status.
pid_t spawn(const std::string &cmd, const fs::path &log) {
    return folia_test::start_shell(cmd, log.string());
}

int next_epoch_of(const fs::path &run) {
    try {
        return read_checkpoint_meta((run / "last.pt").string()).at("next_epoch");
    } catch (...) {
        return 0;
    }
}

bool wait_for_epoch(const fs::path &run, int epoch, double limit_s) {
    return folia_test::wait_until(
        [&] { return fs::exists(run / "last.pt") && next_epoch_of(run) >= epoch; }, limit_s);
}

// Every parameter and buffer of a checkpoint, by name.
std::map<std::string, torch::Tensor> weights_of(const fs::path &ckpt) {
    folia_net m(arch_from_json(read_checkpoint_meta(ckpt.string()).at("arch")));
    REQUIRE(load_checkpoint(ckpt.string(), m, nullptr, nullptr));
    std::map<std::string, torch::Tensor> r;
    for (const auto &p : m->named_parameters(true)) r[p.key()] = p.value().detach().clone();
    for (const auto &b : m->named_buffers(true)) r[b.key()] = b.value().detach().clone();
    return r;
}

// Largest |a - b| over every tensor (f64), and the name where it occurs.
double max_diff(const std::map<std::string, torch::Tensor> &a,
                const std::map<std::string, torch::Tensor> &b, std::string *where) {
    REQUIRE(a.size() == b.size());
    double m = -1;
    where->clear();
    for (const auto &[k, t] : a) {
        REQUIRE(b.count(k) == 1);
        const double d =
            (t.to(torch::kFloat64) - b.at(k).to(torch::kFloat64)).abs().max().item<double>();
        if (where->size() < 4000) where->append("\n  " + k + " " + std::to_string(d));
        if (d > m) {
            m = d;
        }
    }
    return m;
}

}  // namespace

TEST_CASE("Two ranks with batch 4 train to the weights of one process with batch 8", "[dist]") {
    if (data_root().empty()) FAIL("FOLIA_DATA must point at the PlantVillage folder");
    const fs::path dir = scratch("equal");
    const std::string steps = "--epochs 2 --max-steps 3 --threads 1 ";
    // The one-process reference first: it also makes the split and the cache the others read.
    REQUIRE(run(exe() + train_args(dir, steps + "--batch 8 --out '" + (dir / "one").string() + "'"),
                dir / "one.log") == 0);
    const std::string master = "127.0.0.1:" + std::to_string(free_port());
    REQUIRE(run(exe() + "launch --nproc 2 --master " + master + " -- " +
                    train_args(dir, steps + "--batch 4 --out '" + (dir / "two").string() + "'"),
                dir / "two.log") == 0);
    const auto one = weights_of(dir / "one" / "last.pt");
    const auto two = weights_of(dir / "two" / "last.pt");
    std::string where;
    const double d = max_diff(one, two, &where);
    INFO("largest difference " << d << "; per tensor:" << where);
    CHECK(d <= 1e-4);
    CHECK(one.at("block0.bn.num_batches_tracked").item<int64_t>() == 6);
    CHECK(two.at("block0.bn.num_batches_tracked").item<int64_t>() == 6);
    // The loss figures are the global batch's too.
    const auto h1 = read_json_file((dir / "one" / "history.json").string()).at("epochs");
    const auto h2 = read_json_file((dir / "two" / "history.json").string()).at("epochs");
    REQUIRE(h1.size() == 2);
    REQUIRE(h2.size() == 2);
    for (size_t e = 0; e < 2; ++e) {
        CHECK(h2[e].at("train_loss").get<double>() ==
              Approx(h1[e].at("train_loss").get<double>()).margin(1e-4));
        CHECK(h2[e].at("val_acc").get<double>() == h1[e].at("val_acc").get<double>());
    }
    CHECK_THAT(read_text(dir / "two.log"), Catch::Contains("[rank 1] rank 1 of 2 joined"));

    // The comparison is sharp: per-rank BatchNorm statistics, or one process with only one
    // rank's batch, end far outside the tolerance.
    const std::string master2 = "127.0.0.1:" + std::to_string(free_port());
    REQUIRE(run(exe() + "launch --nproc 2 --master " + master2 + " -- " +
                    train_args(dir, steps + "--batch 4 --no-sync-bn --out '" +
                                        (dir / "local-bn").string() + "'"),
                dir / "local-bn.log") == 0);
    CHECK(max_diff(one, weights_of(dir / "local-bn" / "last.pt"), &where) > 1e-3);
    REQUIRE(
        run(exe() + train_args(dir, steps + "--batch 4 --out '" + (dir / "half").string() + "'"),
            dir / "half.log") == 0);
    CHECK(max_diff(one, weights_of(dir / "half" / "last.pt"), &where) > 1e-2);
}

TEST_CASE("A SIGKILLed rank makes rank 0 exit non-zero within 60 s naming it, and the job resumes",
          "[dist]") {
    if (data_root().empty()) FAIL("FOLIA_DATA must point at the PlantVillage folder");
    const fs::path dir = scratch("kill");
    const fs::path out = dir / "run";
    const std::string master = "127.0.0.1:" + std::to_string(free_port());
    const std::string args =
        train_args(dir, "--epochs 300 --batch 4 --threads 1 --out '" + out.string() + "'");
    // The split and the cache first, so both ranks start at once.
    REQUIRE(run(exe() + cache_args(dir), dir / "cache.log") == 0);
    const pid_t r0 =
        spawn(exe() + args + " --master " + master + " --world-size 2 --rank 0", dir / "rank0.log");
    const pid_t r1 =
        spawn(exe() + args + " --master " + master + " --world-size 2 --rank 1", dir / "rank1.log");
    const bool started = wait_for_epoch(out, 2, 120);
    if (!started) {
        ::kill(r0, SIGKILL);
        ::kill(r1, SIGKILL);
        wait_for(r0, 10);
        wait_for(r1, 10);
    }
    INFO(read_text(dir / "rank0.log"));
    REQUIRE(started);
    REQUIRE(::kill(r1, SIGKILL) == 0);
    REQUIRE(wait_for(r1, 10) != -1);
    double took = 0;
    const int st = wait_for(r0, 60, &took);
    if (st == -1) ::kill(r0, SIGKILL), wait_for(r0, 10);
    REQUIRE(st != -1);
    CHECK(took < 60);
    CHECK(WIFEXITED(st));
    CHECK(WEXITSTATUS(st) != 0);
    CHECK_THAT(read_text(dir / "rank0.log"), Catch::Contains("rank 1 lost"));

    // Resume from the last checkpoint (with a total that ends two epochs later).
    const int saved = next_epoch_of(out);
    REQUIRE(saved >= 2);
    const int total = saved + 2;
    const std::string resume =
        train_args(dir, "--epochs " + std::to_string(total) +
                            " --batch 4 --threads 1 --resume --out '" + out.string() + "'");
    const std::string master2 = "127.0.0.1:" + std::to_string(free_port());
    REQUIRE(run(exe() + "launch --nproc 2 --master " + master2 + " -- " + resume,
                dir / "resume.log") == 0);
    const std::string log = read_text(dir / "resume.log");
    CHECK_THAT(log, Catch::Contains("[rank 0] resumed from"));
    CHECK_THAT(log, Catch::Contains("[rank 1] resumed from"));
    const auto meta = read_checkpoint_meta((out / "last.pt").string());
    CHECK(meta.at("next_epoch") == total);
    CHECK(meta.at("history").size() == size_t(total));

    // A rank without the checkpoint (its --out is empty: a machine nobody copied last.pt to)
    // must not train from epoch 0 beside rank 0 at epoch `total`: both refuse, naming it.
    const fs::path empty = dir / "empty";
    fs::create_directories(empty);
    const std::string master3 = "127.0.0.1:" + std::to_string(free_port());
    const std::string more = "--epochs " + std::to_string(total + 2) + " --batch 4 --threads 1 " +
                             "--resume --master " + master3 + " --world-size 2 ";
    const pid_t m0 = spawn(exe() + train_args(dir, more + "--rank 0 --out '" + out.string() + "'"),
                           dir / "mismatch0.log");
    const pid_t m1 =
        spawn(exe() + train_args(dir, more + "--rank 1 --out '" + empty.string() + "'"),
              dir / "mismatch1.log");
    const int s0 = wait_for(m0, 60), s1 = wait_for(m1, 60);
    if (s0 == -1) ::kill(m0, SIGKILL), wait_for(m0, 10);
    if (s1 == -1) ::kill(m1, SIGKILL), wait_for(m1, 10);
    INFO(read_text(dir / "mismatch0.log") << "\n---\n" << read_text(dir / "mismatch1.log"));
    REQUIRE(s0 != -1);
    REQUIRE(s1 != -1);
    CHECK((WIFEXITED(s0) && WEXITSTATUS(s0) != 0));
    CHECK((WIFEXITED(s1) && WEXITSTATUS(s1) != 0));
    CHECK_THAT(read_text(dir / "mismatch1.log"), Catch::Contains("last.pt differ"));
    CHECK(read_checkpoint_meta((out / "last.pt").string()).at("next_epoch") == total);
}

TEST_CASE("launch stops every rank and exits non-zero when one of them dies", "[dist]") {
    if (data_root().empty()) FAIL("FOLIA_DATA must point at the PlantVillage folder");
    const fs::path dir = scratch("launch");
    const fs::path out = dir / "run";
    REQUIRE(run(exe() + cache_args(dir), dir / "cache.log") == 0);
    const pid_t l =
        spawn(exe() + "launch --nproc 2 -- " +
                  train_args(dir, "--epochs 300 --batch 4 --out '" + out.string() + "'"),
              dir / "launch.log");
    REQUIRE(wait_for_epoch(out, 1, 120));
    // launch's children are the ranks (in start order: rank 0, rank 1).
    std::ifstream kids("/proc/" + std::to_string(l) + "/task/" + std::to_string(l) + "/children");
    std::vector<pid_t> ranks;
    for (pid_t p; kids >> p;) ranks.push_back(p);
    REQUIRE(ranks.size() == 2);
    REQUIRE(::kill(ranks[1], SIGKILL) == 0);
    const int st = wait_for(l, 60);
    if (st == -1) ::kill(l, SIGKILL), wait_for(l, 10);
    REQUIRE(st != -1);
    CHECK(WIFEXITED(st));
    CHECK(WEXITSTATUS(st) != 0);
    const std::string log = read_text(dir / "launch.log");
    INFO(log);
    CHECK_THAT(log, Catch::Contains("launch: rank 1 was killed by signal 9"));
    CHECK(::kill(ranks[0], 0) != 0);  // rank 0 is gone too (reaped by launch)
}
