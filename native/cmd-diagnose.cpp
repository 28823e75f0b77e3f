// cmd-diagnose.cpp: `folia diagnose [--model M] [--json] [--threads N] IMG...`
// With --json: one JSON object per line per image (the same object the web app's
// window.folia.diagnose returns). Exit 0 when every image was diagnosed, 1 when any was refused.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fmt/core.h>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "commands.h"
#include "file-io.h"
#include "model-loader.h"
#include "top-k.h"

namespace folia_cli {

namespace {

constexpr int k_top = 3;

struct diagnose_options {
    std::string model;
    bool json = false;
    int threads = 0;
    std::vector<std::string> images;
};

struct diagnosis {
    std::string file;
    std::vector<std::pair<std::string, float>> top;  // (label, calibrated probability)
    double ms = 0;
    bool sure = false;
};

void print_table(const std::vector<diagnosis> &rows) {
    if (rows.empty()) return;
    size_t wf = 4, wl = 5;
    for (const diagnosis &d : rows) {
        wf = std::max(wf, d.file.size());
        for (const auto &t : d.top) wl = std::max(wl, t.first.size());
    }
    std::string head = fmt::format("{:<{}}  {:>8}  {:<4}", "file", wf, "ms", "sure");
    for (int i = 0; i < k_top; ++i)
        head += fmt::format("  {:<{}} {:>6}", fmt::format("top-{}", i + 1), wl, "p");
    fmt::print("{}\n", head);
    for (const diagnosis &d : rows) {
        std::string line =
            fmt::format("{:<{}}  {:>8.2f}  {:<4}", d.file, wf, d.ms, d.sure ? "yes" : "no");
        for (const auto &[label, p] : d.top)
            line += fmt::format("  {:<{}} {:>5.1f}%", label, wl, 100.0 * p);
        fmt::print("{}\n", line);
    }
}

int run_diagnose(const diagnose_options &o) {
    folia_params params = folia_default_params();
    params.num_threads = resolve_threads(o.threads);
    const std::string model_path = resolve_model_path(o.model);
    context_ptr ctx;
    std::string error;
    if (load_engine(model_path, params, &ctx, &error) != FOLIA_OK) {
        std::fprintf(stderr, "folia: %s\n", error.c_str());
        if (o.model.empty())
            std::fprintf(stderr, "folia: (no --model given; set FOLIA_MODEL or pass --model)\n");
        return k_exit_refused;
    }
    const int n = folia_num_classes(ctx.get());
    const float threshold = folia_abstain_threshold(ctx.get());
    std::vector<float> probs(static_cast<size_t>(n));
    std::vector<diagnosis> table;
    int refused = 0;
    for (const std::string &file : o.images) {
        std::vector<uint8_t> bytes;
        if (!read_file(file, &bytes, &error)) {
            std::fprintf(stderr, "folia: %s\n", error.c_str());
            ++refused;
            continue;
        }
        const auto t0 = std::chrono::steady_clock::now();
        const folia_status s =
            folia_classify_image(ctx.get(), bytes.data(), bytes.size(), probs.data());
        const auto t1 = std::chrono::steady_clock::now();
        if (s != FOLIA_OK) {
            std::fprintf(stderr, "folia: %s: %s\n", file.c_str(), folia_status_message(s));
            ++refused;
            continue;
        }
        diagnosis d;
        d.file = file;
        d.ms = std::chrono::duration<double, std::milli>(t1 - t0).count();
        for (int i : top_k(probs, k_top))
            d.top.emplace_back(folia_label(ctx.get(), i), probs[size_t(i)]);
        d.sure = !d.top.empty() && d.top[0].second >= threshold;
        if (o.json) {
            // ordered_json: keys print in the documented order (file, top, ms, sure).
            nlohmann::ordered_json j;
            j["file"] = d.file;
            j["top"] = nlohmann::ordered_json::array();
            for (const auto &[label, p] : d.top) j["top"].push_back({{"label", label}, {"p", p}});
            j["ms"] = std::round(d.ms * 1000.0) / 1000.0;
            j["sure"] = d.sure;
            // One line per image, flushed, so a pipeline sees results as they come.
            std::fputs((j.dump() + "\n").c_str(), stdout);
            std::fflush(stdout);
        } else {
            table.push_back(std::move(d));
        }
    }
    if (!o.json) print_table(table);
    return refused ? k_exit_refused : k_exit_ok;
}

}  // namespace

command add_diagnose_command(CLI::App &app) {
    auto o = std::make_shared<diagnose_options>();
    CLI::App *sub = app.add_subcommand("diagnose", "Top-3 diseases for each leaf photo (JPEG/PNG)");
    add_model_option(sub, &o->model, "Model file (default: $FOLIA_MODEL, else the shipped model)");
    sub->add_flag("--json", o->json, "One JSON object per line per image");
    add_threads_option(sub, &o->threads, "Engine threads (0: one per core)");
    sub->add_option("images", o->images, "Photos to diagnose")->required();
    return {sub, [o] { return run_diagnose(*o); }};
}

}  // namespace folia_cli
