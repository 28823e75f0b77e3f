// bench-wasm.cpp: the seed's harness in wasm (10 warm-up + 100 runs, batch 1, 128x128: mean, p50,
// p99, images/s; plus batch-32 throughput) for each thread count, in one run, with the ratio of
// each to the first. A benchmark program, not a test: it prints figures and asserts nothing.
//   node --no-experimental-fetch build/wasm-mt/web/folia-wasm-bench.js [--threads 1,2]
//        [--model FILE] [--runs 100] [--warmup 10] [--batch 32] [--json] [--conv winograd|xnnpack]
// Without --model it benchmarks a He-initialised model of the shipped shape (38 classes).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "folia.h"
#include "folia/timing-stats.h"
#include "folia/model-file.h"
#include "random-model.h"

namespace {

struct options {
    std::vector<int> threads;
    std::string model_path;
    int runs = 100, warmup = 10, batch = 32;
    bool json = false;
    int conv_algo = FOLIA_CONV_WINOGRAD;
};

struct result {
    int threads = 0;
    double mean_ms = 0, p50_ms = 0, p99_ms = 0, images_per_s = 0, batch_images_per_s = 0;
};

double now_ms() {
    using clock = std::chrono::steady_clock;
    return std::chrono::duration<double, std::milli>(clock::now().time_since_epoch()).count();
}

[[noreturn]] void usage(const char *why) {
    std::fprintf(stderr,
                 "folia-wasm-bench: %s\nusage: folia-wasm-bench [--threads 1,2] "
                 "[--model FILE] [--runs N] [--warmup N] [--batch N] [--json] "
                 "[--conv winograd|xnnpack]\n",
                 why);
    std::exit(2);
}

options parse_args(int argc, char **argv) {
    options o;
#ifdef __EMSCRIPTEN_PTHREADS__
    o.threads = {1, 2};
#else
    o.threads = {1};  // the single-thread build has pthreadpool's shim: more threads are no-ops
#endif
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) usage(("missing value after " + a).c_str());
            return argv[++i];
        };
        if (a == "--threads") {
            o.threads.clear();
            std::string s = value();
            for (size_t p = 0; p <= s.size();) {
                size_t q = s.find(',', p);
                if (q == std::string::npos) q = s.size();
                const int t = std::atoi(s.substr(p, q - p).c_str());
                if (t < 1) usage("--threads takes a comma-separated list of counts >= 1");
                o.threads.push_back(t);
                p = q + 1;
            }
        } else if (a == "--model") {
            o.model_path = value();
        } else if (a == "--runs") {
            o.runs = std::atoi(value().c_str());
        } else if (a == "--warmup") {
            o.warmup = std::atoi(value().c_str());
        } else if (a == "--batch") {
            o.batch = std::atoi(value().c_str());
        } else if (a == "--json") {
            o.json = true;
        } else if (a == "--conv") {
            const std::string c = value();
            if (c != "winograd" && c != "xnnpack") usage("--conv takes winograd or xnnpack");
            o.conv_algo = c == "xnnpack" ? FOLIA_CONV_XNNPACK : FOLIA_CONV_WINOGRAD;
        } else {
            usage(("unknown argument " + a).c_str());
        }
    }
    if (o.runs < 1 || o.warmup < 0 || o.batch < 1) usage("--runs, --batch >= 1, --warmup >= 0");
    return o;
}

std::vector<uint8_t> model_bytes(const options &o) {
    std::vector<uint8_t> bytes;
    if (!o.model_path.empty()) {
        std::ifstream f(o.model_path, std::ios::binary);
        if (!f) usage(("cannot open " + o.model_path).c_str());
        bytes.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
        return bytes;
    }
    folia_cli::random_model_options ro;
    ro.random_bn = true;
    if (folia::write_model_file(folia_cli::make_random_model(ro), &bytes) != FOLIA_OK)
        usage("could not build the random model");
    return bytes;
}

result run_one(const options &o, const std::vector<uint8_t> &model, int threads) {
    folia_params params = folia_default_params();
    params.num_threads = threads;
    params.max_batch = std::max(params.max_batch, o.batch);
    params.conv_algo = o.conv_algo;
    folia_context *ctx = nullptr;
    const folia_status st = folia_init_from_buffer(model.data(), model.size(), &params, &ctx);
    if (st != FOLIA_OK) {
        std::fprintf(stderr, "folia-wasm-bench: init with %d threads: %s\n", threads,
                     folia_status_message(st));
        std::exit(1);
    }
    const int s = folia_input_size(ctx), n = folia_num_classes(ctx);
    std::mt19937 rng(1);
    std::normal_distribution<float> nd(0.0f, 1.0f);
    std::vector<float> x(size_t(o.batch) * s * s * 3);  // x is (B,S,S,3) f32 NHWC normalised
    for (float &v : x) v = nd(rng);
    std::vector<float> logits(size_t(o.batch) * n);

    auto check = [&](folia_status r) {
        if (r != FOLIA_OK) {
            std::fprintf(stderr, "folia-wasm-bench: folia_logits: %s\n", folia_status_message(r));
            std::exit(1);
        }
    };
    for (int i = 0; i < o.warmup; ++i) check(folia_logits(ctx, x.data(), 1, logits.data()));
    std::vector<double> times;
    for (int i = 0; i < o.runs; ++i) {
        const double t0 = now_ms();
        check(folia_logits(ctx, x.data(), 1, logits.data()));
        times.push_back(now_ms() - t0);
    }
    result r;
    r.threads = threads;
    const folia::timing_stats ts = folia::summarize_ms(times);
    r.mean_ms = ts.mean_ms;
    r.p50_ms = ts.p50_ms;
    r.p99_ms = ts.p99_ms;
    r.images_per_s = 1000.0 / r.mean_ms;

    // Batch throughput: 2 warm-up batches, then enough batches for ~10 x batch images.
    for (int i = 0; i < 2; ++i) check(folia_logits(ctx, x.data(), o.batch, logits.data()));
    const int batches = 10;
    const double t0 = now_ms();
    for (int i = 0; i < batches; ++i) check(folia_logits(ctx, x.data(), o.batch, logits.data()));
    r.batch_images_per_s = double(batches) * o.batch * 1000.0 / (now_ms() - t0);
    folia_free(ctx);
    return r;
}

}  // namespace

int main(int argc, char **argv) {
    const options o = parse_args(argc, argv);
    const std::vector<uint8_t> model = model_bytes(o);
#ifdef __EMSCRIPTEN_PTHREADS__
    const char *build = "wasm SIMD + threads";
#else
    const char *build = "wasm SIMD, single thread";
#endif
    std::vector<result> results;
    for (int t : o.threads) results.push_back(run_one(o, model, t));

    if (o.json) {
        nlohmann::json j = {{"build", build},
                            {"runs", o.runs},
                            {"warmup", o.warmup},
                            {"batch", o.batch},
                            {"conv", o.conv_algo == FOLIA_CONV_XNNPACK ? "xnnpack" : "winograd"},
                            {"model", o.model_path.empty() ? "random" : o.model_path}};
        for (const result &r : results)
            j["results"].push_back({{"threads", r.threads},
                                    {"mean_ms", r.mean_ms},
                                    {"p50_ms", r.p50_ms},
                                    {"p99_ms", r.p99_ms},
                                    {"images_per_s", r.images_per_s},
                                    {"batch_images_per_s", r.batch_images_per_s},
                                    {"p50_ratio_to_first", r.p50_ms / results[0].p50_ms}});
        std::printf("%s\n", j.dump().c_str());
        return 0;
    }
    std::printf("folia wasm bench (%s, conv %s): %d warm-up + %d runs, batch 1, %s model\n", build,
                o.conv_algo == FOLIA_CONV_XNNPACK ? "xnnpack" : "winograd", o.warmup, o.runs,
                o.model_path.empty() ? "random" : o.model_path.c_str());
    std::printf("%-8s %9s %9s %9s %10s %11s-%-2d %12s\n", "threads", "mean ms", "p50 ms", "p99 ms",
                "images/s", "img/s batch", o.batch, "p50 ratio");
    for (const result &r : results)
        std::printf("%-8d %9.3f %9.3f %9.3f %10.1f %14.1f %11.2fx\n", r.threads, r.mean_ms,
                    r.p50_ms, r.p99_ms, r.images_per_s, r.batch_images_per_s,
                    results[0].p50_ms / r.p50_ms);
    std::printf("(p50 ratio = p50 of the first row / p50 of this row: the speed-up)\n");
    return 0;
}
