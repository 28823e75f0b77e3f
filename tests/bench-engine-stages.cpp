// bench-engine-stages: the engine's two conv algorithms (XNNPACK's direct convolution in one
// subgraph, and the Winograd stages) timed in the same run, interleaved A B A B, with each
// stage's median milliseconds from the engine's own profiling and the conv blocks' sums. A
// benchmark program, not a test: it prints figures and asserts nothing. Natively and in wasm:
//   folia_bench_engine_stages [--threads 1] [--rounds 4] [--runs 50] [--batch 1] [--model F]
// Without --model it times a He-initialised model of the shipped shape (38 classes).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "folia/model-file.h"
#include "random-model.h"
#include "xnnpack-graph.h"

namespace {

using folia::engine::conv_algo;

struct options {
    int threads = 1, rounds = 4, runs = 50, batch = 1;
    std::string model;
};

struct samples {
    std::vector<double> total_ms;
    std::map<std::string, std::vector<double>> stage_ms;
    std::vector<std::string> order;     // stage keys in run order
    std::vector<double> conv_block_ms;  // per run: blocks 2..last (every block but the stem)
};

double median(std::vector<double> v) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

// The fastest run: on a shared machine the least disturbed one, so the figure that says most
// about the code itself (printed beside the median).
double fastest(const std::vector<double> &v) {
    return v.empty() ? 0 : *std::min_element(v.begin(), v.end());
}

options parse(int argc, char **argv) {
    options o;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string a = argv[i], v = argv[i + 1];
        if (a == "--threads")
            o.threads = std::atoi(v.c_str());
        else if (a == "--rounds")
            o.rounds = std::atoi(v.c_str());
        else if (a == "--runs")
            o.runs = std::atoi(v.c_str());
        else if (a == "--batch")
            o.batch = std::atoi(v.c_str());
        else if (a == "--model")
            o.model = v;
        else {
            std::fprintf(stderr, "unknown option %s\n", a.c_str());
            std::exit(2);
        }
    }
    if (o.threads < 1 || o.rounds < 1 || o.runs < 1 || o.batch < 1) std::exit(2);
    return o;
}

folia::model_file load_model(const options &o) {
    folia::model_file m;
    if (o.model.empty()) {
        folia_cli::random_model_options ro;
        ro.random_bn = true;
        return folia_cli::make_random_model(ro);
    }
    std::ifstream f(o.model, std::ios::binary);
    const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(f)),
                                     std::istreambuf_iterator<char>());
    std::string error;
    if (folia::parse_model_file(bytes.data(), bytes.size(), &m, &error) != FOLIA_OK) {
        std::fprintf(stderr, "cannot read %s: %s\n", o.model.c_str(), error.c_str());
        std::exit(1);
    }
    return m;
}

// Counts XNNPACK's convolutions and max-pools as they come; true for those of block 2 onwards
// and for every Winograd stage (the stem never runs as Winograd).
struct block_counter {
    int convs = 0, pools = 0;
    bool later_block(const std::string &name) {
        if (name.find("winograd-") == 0 || name.find("bmm conv") == 0) return true;
        if (name.find("Convolution") != std::string::npos) return ++convs >= 2;
        if (name.find("Max Pooling") != std::string::npos) return ++pools >= 2;
        return false;
    }
};

void time_once(folia::engine::xnnpack_graph &g, const options &o, samples *s) {
    std::vector<float> logits(size_t(o.batch) * size_t(g.num_outputs()));
    std::string error;
    const auto t0 = std::chrono::steady_clock::now();
    if (g.run(o.batch, logits.data(), &error) != FOLIA_OK) {
        std::fprintf(stderr, "run: %s\n", error.c_str());
        std::exit(1);
    }
    s->total_ms.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    block_counter blocks_of;
    double blocks = 0;
    std::map<std::string, int> seen;
    for (const auto &[name, ms] : g.last_profile()) {
        const std::string key = name + " #" + std::to_string(++seen[name]);
        if (s->stage_ms.find(key) == s->stage_ms.end()) s->order.push_back(key);
        s->stage_ms[key].push_back(ms);
        if (blocks_of.later_block(name)) blocks += ms;
    }
    s->conv_block_ms.push_back(blocks);
}

}  // namespace

int main(int argc, char **argv) {
    const options o = parse(argc, argv);
    const folia::model_file model = load_model(o);
    const conv_algo algos[2] = {conv_algo::xnnpack, conv_algo::winograd};
    const char *names[2] = {"xnnpack-direct", "winograd"};
    std::unique_ptr<folia::engine::xnnpack_graph> graphs[2];
    for (int a = 0; a < 2; ++a) {
        std::string error;
        if (folia::engine::xnnpack_graph::create(folia::engine::fold_model(model), o.threads,
                                                 /*profile=*/true, &graphs[a], &error,
                                                 folia::engine::graph_output::logits,
                                                 algos[a]) != FOLIA_OK ||
            !graphs[a]->input_buffer(o.batch)) {
            std::fprintf(stderr, "create %s: %s\n", names[a], error.c_str());
            return 1;
        }
        float *x = graphs[a]->input_buffer(o.batch);
        for (size_t i = 0; i < size_t(o.batch) * graphs[a]->input_floats_per_image(); ++i)
            x[i] = float(int(i * 2654435761u % 4001u) - 2000) / 1000.0f;
    }
    samples s[2];
    for (int r = 0; r < o.rounds; ++r)
        for (int a = 0; a < 2; ++a) {
            samples warm;
            for (int i = 0; i < 5; ++i) time_once(*graphs[a], o, &warm);
            for (int i = 0; i < o.runs; ++i) time_once(*graphs[a], o, &s[a]);
        }
    std::printf("batch %d, %d thread(s), %d rounds x %d runs, interleaved\n", o.batch, o.threads,
                o.rounds, o.runs);
    for (int a = 0; a < 2; ++a) {
        std::printf(
            "\n%s: whole network p50 %.3f ms (min %.3f; profiled runs), conv blocks 2.. "
            "p50 %.3f ms (min %.3f)\n",
            names[a], median(s[a].total_ms), fastest(s[a].total_ms), median(s[a].conv_block_ms),
            fastest(s[a].conv_block_ms));
        for (const std::string &k : s[a].order)
            std::printf("  %-40s p50 %7.3f ms  min %7.3f ms\n", k.c_str(), median(s[a].stage_ms[k]),
                        fastest(s[a].stage_ms[k]));
    }
    std::printf(
        "\nratio direct / winograd: whole p50 %.2fx (min %.2fx), conv blocks 2.. p50 %.2fx "
        "(min %.2fx)\n",
        median(s[0].total_ms) / median(s[1].total_ms),
        fastest(s[0].total_ms) / fastest(s[1].total_ms),
        median(s[0].conv_block_ms) / median(s[1].conv_block_ms),
        fastest(s[0].conv_block_ms) / fastest(s[1].conv_block_ms));
    return 0;
}
