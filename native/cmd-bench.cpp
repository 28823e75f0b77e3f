// cmd-bench.cpp: `folia bench [--model M] [--threads N] [--json] [--runs 100] [--warmup 10]
//                             [--conv winograd|xnnpack]`
// The seed's harness: batch 1 at the model's input size (folia_logits, so decode and resize are
// not timed), warm-up then timed runs: mean, p50, p99, images/s; plus batch-32 throughput. The
// peer measured in the same run is the same engine on 1 thread, so the table carries the
// multi-thread speedup as a ratio rather than figures to compare across machines.
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fmt/core.h>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "commands.h"
#include "file-io.h"
#include "folia/model-file.h"
#include "folia/timing-stats.h"
#include "model-loader.h"
#include "random-model.h"

namespace folia_cli {

namespace {

constexpr int k_big_batch = 32;

struct bench_options {
    std::string model;
    int threads = 0;
    bool json = false;
    int runs = 100;
    int warmup = 10;
    int batch_runs = 10;
    std::string conv = "winograd";  // folia_params.conv_algo, to compare the engine's two paths
};

struct bench_row {
    int threads = 0;
    double mean_ms = 0, p50_ms = 0, p99_ms = 0, min_ms = 0, images_per_s = 0, gflops = 0;
    double batch_ms = 0, batch_images_per_s = 0;
};

double peak_rss_mib() {
    struct rusage ru {};
    getrusage(RUSAGE_SELF, &ru);
    return double(ru.ru_maxrss) / 1024.0;  // Linux reports KiB
}

bool measure(const std::vector<uint8_t> &model_bytes, int threads, const bench_options &o,
             double flops, const std::vector<float> &input, bench_row *row, std::string *error) {
    folia_params params = folia_default_params();
    params.num_threads = threads;
    params.max_batch = std::max(params.max_batch, k_big_batch);
    params.conv_algo = o.conv == "xnnpack" ? FOLIA_CONV_XNNPACK : FOLIA_CONV_WINOGRAD;
    context_ptr ctx;
    if (start_engine(model_bytes, params, &ctx, error) != FOLIA_OK) return false;
    const int n = folia_num_classes(ctx.get());
    std::vector<float> logits(size_t(k_big_batch) * size_t(n));
    using clock = std::chrono::steady_clock;
    auto run = [&](int batch) {
        const folia_status s = folia_logits(ctx.get(), input.data(), batch, logits.data());
        if (s != FOLIA_OK)
            throw std::runtime_error(std::string("folia_logits: ") + folia_status_message(s));
    };

    for (int i = 0; i < o.warmup; ++i) run(1);
    std::vector<double> ms(size_t(o.runs));
    for (double &t : ms) {
        const auto t0 = clock::now();
        run(1);
        t = std::chrono::duration<double, std::milli>(clock::now() - t0).count();
    }
    const folia::timing_stats st = folia::summarize_ms(ms);
    row->threads = threads;
    row->mean_ms = st.mean_ms;
    row->p50_ms = st.p50_ms;
    row->p99_ms = st.p99_ms;
    row->min_ms = st.min_ms;
    row->images_per_s = 1000.0 / row->mean_ms;
    row->gflops = flops / (row->p50_ms * 1e6);

    run(k_big_batch);  // the first big batch may re-plan or touch fresh buffers
    const auto t0 = clock::now();
    for (int i = 0; i < o.batch_runs; ++i) run(k_big_batch);
    const double total = std::chrono::duration<double, std::milli>(clock::now() - t0).count();
    row->batch_ms = total / o.batch_runs;
    row->batch_images_per_s = 1000.0 * k_big_batch / row->batch_ms;
    return true;
}

int run_bench(const bench_options &o) {
    // Model: the one asked for; without --model, the shipped (or $FOLIA_MODEL) one when present,
    // else a random model of the same architecture (timings do not depend on the weights).
    std::vector<uint8_t> model_bytes;
    std::string model_name, error;
    const std::string path = resolve_model_path(o.model);
    if (!read_file(path, &model_bytes, &error)) {
        if (!o.model.empty()) return refused("cannot read model %s", error.c_str());
        random_model_options ro;
        folia::model_file rm = make_random_model(ro);
        if (folia::write_model_file(rm, &model_bytes, &error) != FOLIA_OK)
            return refused("random model: %s", error.c_str());
        model_name = "random (38 classes; " + path + " not found)";
    } else {
        model_name = path;
    }
    folia::model_file m;
    const folia_status ps =
        folia::parse_model_file(model_bytes.data(), model_bytes.size(), &m, &error);
    if (ps != FOLIA_OK)
        return refused("model %s: %s (%s)", path.c_str(), folia_status_message(ps), error.c_str());
    const int size = m.preprocess.input_size;
    const double flops = forward_flops(m);

    // x is (32, S, S, 3) f32, values in the range normalised photos take.
    std::vector<float> input(size_t(k_big_batch) * size_t(size) * size_t(size) * 3);
    std::mt19937 rng(42);
    std::uniform_real_distribution<float> dist(-2.0f, 2.5f);
    for (float &v : input) v = dist(rng);

    const int threads = resolve_threads(o.threads);
    std::vector<int> configs = {1};
    if (threads != 1) configs.push_back(threads);
    std::vector<bench_row> rows;
    for (int t : configs) {
        bench_row r;
        if (!measure(model_bytes, t, o, flops, input, &r, &error))
            return refused("model %s: %s", path.c_str(), error.c_str());
        rows.push_back(r);
    }
    const bench_row &base = rows.front(), &best = rows.back();
    const double speedup_p50 = base.p50_ms / best.p50_ms;
    const double speedup_batch = best.batch_images_per_s / base.batch_images_per_s;

    if (o.json) {
        nlohmann::json j;
        j["model"] = model_name;
        j["input_size"] = size;
        j["conv"] = o.conv;
        j["warmup"] = o.warmup;
        j["runs"] = o.runs;
        j["batch"] = k_big_batch;
        j["batch_runs"] = o.batch_runs;
        j["forward_mflops"] = flops / 1e6;
        j["results"] = nlohmann::json::array();
        for (const bench_row &r : rows)
            j["results"].push_back({{"engine", "folia"},
                                    {"threads", r.threads},
                                    {"mean_ms", r.mean_ms},
                                    {"p50_ms", r.p50_ms},
                                    {"p99_ms", r.p99_ms},
                                    {"min_ms", r.min_ms},
                                    {"images_per_s", r.images_per_s},
                                    {"gflops_p50", r.gflops},
                                    {"batch32_ms", r.batch_ms},
                                    {"batch32_images_per_s", r.batch_images_per_s}});
        j["speedup"] = {
            {"threads", best.threads}, {"p50", speedup_p50}, {"batch32", speedup_batch}};
        j["peak_rss_mib"] = peak_rss_mib();
        fmt::print("{}\n", j.dump(2));
        return k_exit_ok;
    }

    fmt::print("folia bench: model {} (conv {})\n", model_name, o.conv);
    fmt::print("batch 1, {}x{}x3, {} warm-up + {} runs; batch {}: {} runs; {:.1f} MFLOP/image\n\n",
               size, size, o.warmup, o.runs, k_big_batch, o.batch_runs, flops / 1e6);
    fmt::print("{:<18} {:>9} {:>9} {:>9} {:>10} {:>9} {:>14}\n", "engine", "mean ms", "p50 ms",
               "p99 ms", "images/s", "GFLOP/s", "b32 images/s");
    for (const bench_row &r : rows)
        fmt::print("{:<18} {:>9.3f} {:>9.3f} {:>9.3f} {:>10.1f} {:>9.1f} {:>14.1f}\n",
                   fmt::format("folia {} thread{}", r.threads, r.threads == 1 ? "" : "s"),
                   r.mean_ms, r.p50_ms, r.p99_ms, r.images_per_s, r.gflops, r.batch_images_per_s);
    fmt::print(
        "\nratio {} threads / 1 thread: {:.2f}x at p50 (batch 1), {:.2f}x images/s (batch {})\n",
        best.threads, speedup_p50, speedup_batch, k_big_batch);
    fmt::print("peak RSS {:.1f} MiB\n", peak_rss_mib());
    return k_exit_ok;
}

}  // namespace

command add_bench_command(CLI::App &app) {
    auto o = std::make_shared<bench_options>();
    CLI::App *sub = app.add_subcommand("bench", "Time the engine: 1 thread vs N threads");
    add_model_option(sub, &o->model,
                     "Model file (default: $FOLIA_MODEL or the shipped model, else a random one)");
    add_threads_option(sub, &o->threads, "Threads of the second row (0: one per core)");
    sub->add_flag("--json", o->json, "Print one JSON object");
    sub->add_option("--runs", o->runs, "Timed batch-1 runs")->check(CLI::Range(1, 1000000));
    sub->add_option("--warmup", o->warmup, "Untimed warm-up runs")->check(CLI::Range(0, 1000000));
    sub->add_option("--batch-runs", o->batch_runs, "Timed batch-32 runs")
        ->check(CLI::Range(1, 1000000));
    sub->add_option("--conv", o->conv,
                    "Conv blocks with >= 8 input channels: winograd (default) or xnnpack (direct)")
        ->check(CLI::IsMember({"winograd", "xnnpack"}));
    return {sub, [o] { return run_bench(*o); }};
}

}  // namespace folia_cli
