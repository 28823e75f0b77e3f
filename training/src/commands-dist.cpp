// commands-dist.cpp: folia-train bench-dist: training images/s of one process with T threads and
// global batch 2B (A) vs 2 ranks with T/2 threads and batch B each (B: this executable started
// twice as workers on 127.0.0.1), interleaved A B A B; synthetic batches (no data loading),
// warm-up steps excluded. The workers also report the communication per step (gradient
// buckets + BatchNorm statistics, bytes and calls), the time a step waited on it, and the time
// of one blocking all-reduce of the whole gradient, which is what predicts several machines.
#include <fmt/format.h>
#include <sys/wait.h>
#include <torch/torch.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "dist.h"
#include "file-io.h"
#include "trainer.h"

namespace folia::train {

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

std::string load_averages() {
    std::ifstream f("/proc/loadavg");
    std::string a, b, c;
    f >> a >> b >> c;
    return a + " " + b + " " + c;
}

// Timed Adam steps on a fixed synthetic batch of `batch` rows; returns seconds per step.
double time_steps(folia_net &model, const bench_dist_options &o, int batch, grad_reducer *red) {
    model->train();
    torch::optim::Adam opt(model->parameters(), torch::optim::AdamOptions(1e-4));
    const torch::Tensor x =
        torch::randn({batch, 3, o.size, o.size}).contiguous(torch::MemoryFormat::ChannelsLast);
    const torch::Tensor y = torch::randint(0, o.classes, {batch}, torch::kLong);
    auto step = [&] {
        torch::Tensor loss = torch::nn::functional::cross_entropy(model->forward(x), y);
        opt.zero_grad();
        if (red) red->prepare();
        loss.backward();
        if (red) red->finish();
        opt.step();
        return loss.item<float>();
    };
    for (int i = 0; i < o.warmup; ++i) step();
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < o.steps; ++i) step();
    return seconds_since(t0) / o.steps;
}

int run_worker(const bench_dist_options &o) {
    dist_options d;
    d.master = o.master;
    d.world_size = 2;
    d.rank = o.worker_rank;
    const auto g = dist_group::connect(d, 60);
    folia_net model = make_model(o.classes, 0);
    make_model_distributed(model, g, true);
    g->global_rows = 2 * o.batch;  // the trainer sets these per step
    g->row_offset = g->rank() * o.batch;
    grad_reducer red(g, model->parameters());
    const comm_stats before = g->stats;
    const double step_s = time_steps(model, o, o.batch, &red);
    const int steps = o.steps + o.warmup;
    const double calls = double(g->stats.allreduce_calls - before.allreduce_calls) / steps;
    const double bytes = double(g->stats.allreduce_bytes - before.allreduce_bytes) / steps;
    const double wait_s = (g->stats.blocking_s - before.blocking_s) / steps;
    // One blocking all-reduce of the whole gradient (the lower bound of a step's communication).
    torch::Tensor flat = torch::zeros({red.bytes_per_step() / 4});
    for (int i = 0; i < 3; ++i) g->allreduce_sum(flat);
    const auto t0 = std::chrono::steady_clock::now();
    const int reps = 20;
    for (int i = 0; i < reps; ++i) g->allreduce_sum(flat);
    const double allreduce_s = seconds_since(t0) / reps;
    g->barrier();
    if (g->rank() == 0)
        write_file_atomic(o.result, nlohmann::json({{"step_s", step_s},
                                                    {"images_per_s", 2.0 * o.batch / step_s},
                                                    {"calls_per_step", calls},
                                                    {"bytes_per_step", bytes},
                                                    {"gradient_bytes", red.bytes_per_step()},
                                                    {"buckets", red.buckets()},
                                                    {"comm_wait_s_per_step", wait_s},
                                                    {"allreduce_gradient_s", allreduce_s}})
                                        .dump(1));
    return 0;
}

// Side B: two worker processes of this executable; returns rank 0's figures.
nlohmann::json run_two_ranks(const bench_dist_options &o, const std::string &result) {
    const std::string exe = std::filesystem::read_symlink("/proc/self/exe").string();
    const int port = free_local_port();
    std::vector<pid_t> pids;
    for (int r = 0; r < 2; ++r) {
        std::vector<std::string> a = {exe,
                                      "bench-dist",
                                      "--worker-rank",
                                      std::to_string(r),
                                      "--worker-master",
                                      "127.0.0.1:" + std::to_string(port),
                                      "--worker-result",
                                      result,
                                      "--threads",
                                      std::to_string(std::max(1, o.threads / 2)),
                                      "--batch",
                                      std::to_string(o.batch),
                                      "--size",
                                      std::to_string(o.size),
                                      "--steps",
                                      std::to_string(o.steps),
                                      "--warmup",
                                      std::to_string(o.warmup),
                                      "--classes",
                                      std::to_string(o.classes)};
        const pid_t pid = ::fork();
        if (pid == 0) {
            std::vector<char *> v;
            for (auto &s : a) v.push_back(s.data());
            v.push_back(nullptr);
            ::execv(v[0], v.data());
            ::_exit(127);
        }
        pids.push_back(pid);
    }
    bool ok = true;
    for (pid_t p : pids) {
        int st = 0;
        ::waitpid(p, &st, 0);
        ok = ok && WIFEXITED(st) && WEXITSTATUS(st) == 0;
    }
    if (!ok) throw std::runtime_error("bench-dist: a worker rank failed");
    return read_json_file(result);
}

}  // namespace

int cmd_bench_dist(const bench_dist_options &o) {
    if (o.worker_rank >= 0) return run_worker(o);
    const std::string result =
        (std::filesystem::temp_directory_path() / fmt::format("folia-bench-dist-{}.json", getpid()))
            .string();
    fmt::print("bench-dist: synthetic {}x{} batches, {} classes, {} timed steps ({} warm-up)\n",
               o.size, o.size, o.classes, o.steps, o.warmup);
    fmt::print("A: 1 process x {} threads, batch {}; B: 2 ranks x {} thread(s), batch {} each\n",
               o.threads, 2 * o.batch, std::max(1, o.threads / 2), o.batch);
    std::vector<double> a_ips, b_ips;
    nlohmann::json last_b;
    for (int round = 0; round < o.rounds; ++round) {
        fmt::print("round {}: load {}\n", round + 1, load_averages());
        folia_net model = make_model(o.classes, 0);
        const double a = 2.0 * o.batch / time_steps(model, o, 2 * o.batch, nullptr);
        fmt::print("  A  {:8.1f} images/s   (load {})\n", a, load_averages());
        last_b = run_two_ranks(o, result);
        const double b = last_b.at("images_per_s");
        fmt::print("  B  {:8.1f} images/s   (load {})   B/A {:.2f}\n", b, load_averages(), b / a);
        a_ips.push_back(a);
        b_ips.push_back(b);
    }
    std::filesystem::remove(result);
    auto median = [](std::vector<double> v) {
        std::sort(v.begin(), v.end());
        return v[v.size() / 2];
    };
    const double ma = median(a_ips), mb = median(b_ips);
    fmt::print("median: A {:.1f} images/s, B {:.1f} images/s, B/A {:.2f}\n", ma, mb, mb / ma);
    fmt::print(
        "communication per step and rank: {:.0f} bytes in {:.1f} all-reduces (gradient {} "
        "bytes in {} buckets, the rest BatchNorm statistics)\n",
        last_b.at("bytes_per_step").get<double>(), last_b.at("calls_per_step").get<double>(),
        last_b.at("gradient_bytes").get<int64_t>(), last_b.at("buckets").get<int64_t>());
    fmt::print(
        "a step waited {:.2f} ms on communication; one blocking all-reduce of the whole "
        "gradient takes {:.2f} ms on 127.0.0.1\n",
        1e3 * last_b.at("comm_wait_s_per_step").get<double>(),
        1e3 * last_b.at("allreduce_gradient_s").get<double>());
    if (!o.json.empty())
        write_file_atomic(o.json, nlohmann::json({{"a_images_per_s", a_ips},
                                                  {"b_images_per_s", b_ips},
                                                  {"median_ratio_b_over_a", mb / ma},
                                                  {"b_last", last_b},
                                                  {"options",
                                                   {{"batch", o.batch},
                                                    {"size", o.size},
                                                    {"steps", o.steps},
                                                    {"threads", o.threads}}}})
                                      .dump(1));
    return 0;
}

}  // namespace folia::train
