// panel-bench.cpp: the seed's harness in-process: warm-up, then timed batch-1 runs through
// folia_logits on an engine with 1 thread and one with N threads, figures from
// folia/timing-stats.h (the definitions `folia bench` and the wasm bench use).
#include <imgui.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <thread>

#include "folia/splitmix64.h"
#include "folia/timing-stats.h"
#include "lab-charts.h"
#include "lab-state.h"

namespace folia_lab {

namespace {

constexpr int k_warmup = 10;

// One engine at `threads`: warm-up, then `runs` timed calls of batch 1.
bool bench_threads(const std::string &model, int threads, int runs, bench_row *row,
                   std::string *error) {
    loaded_model m;
    if (!load_model(model, threads, &m, error)) return false;
    const int s = m.input_size;
    // (1, S, S, 3) f32 in about the normalised range; the figures do not depend on values.
    std::vector<float> x(size_t(s) * size_t(s) * 3), logits(size_t(m.classes));
    folia::splitmix64 rng{42};
    for (float &v : x) v = rng.uniform() * 4 - 2;
    for (int i = 0; i < k_warmup; ++i) folia_logits(m.ctx.get(), x.data(), 1, logits.data());
    std::vector<double> ms;
    for (int i = 0; i < runs; ++i) {
        const auto t0 = std::chrono::steady_clock::now();
        if (folia_logits(m.ctx.get(), x.data(), 1, logits.data()) != FOLIA_OK) {
            *error = "folia_logits failed";
            return false;
        }
        ms.push_back(
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
                .count());
    }
    const folia::timing_stats st = folia::summarize_ms(ms);
    *row = {threads, st.mean_ms, st.p50_ms, st.p99_ms, st.mean_ms > 0 ? 1000.0 / st.mean_ms : 0};
    return true;
}

}  // namespace

void start_bench(lab_state &s) {
    if (!s.model.ctx) return;
    if (!s.bench) s.bench = std::make_shared<bench_job>();
    {
        std::lock_guard<std::mutex> lock(s.bench->mutex);
        if (s.bench->running) return;
        s.bench->running = true;
        s.bench->rows.clear();
        s.bench->error.clear();
    }
    auto job = s.bench;
    const std::string model = s.model.path;
    const int runs = std::max(1, s.bench_runs);
    const int n = s.bench_threads > 0 ? s.bench_threads
                                      : int(std::max(2u, std::thread::hardware_concurrency()));
    platform_run_async([job, model, runs, n] {
        for (int threads : {1, n}) {
            {
                std::lock_guard<std::mutex> lock(job->mutex);
                job->status = "running " + std::to_string(threads) + " thread(s)...";
            }
            bench_row row;
            std::string error;
            const bool ok = bench_threads(model, threads, runs, &row, &error);
            std::lock_guard<std::mutex> lock(job->mutex);
            if (!ok) {
                job->error = error;
                break;
            }
            job->rows.push_back(row);
        }
        std::lock_guard<std::mutex> lock(job->mutex);
        job->running = false;
        job->status = "done";
    });
}

void draw_bench_panel(lab_state &s) {
    bool running = false;
    std::vector<bench_row> rows;
    std::string status, error;
    if (s.bench) {
        std::lock_guard<std::mutex> lock(s.bench->mutex);
        running = s.bench->running;
        rows = s.bench->rows;
        status = s.bench->status;
        error = s.bench->error;
    }
    ImGui::TextWrapped(
        "Batch 1 at the model's input size through folia_logits, %d warm-up runs, then timed "
        "runs; an engine with 1 thread, then one with N threads (0: one per core).",
        k_warmup);
    ImGui::SetNextItemWidth(120);
    ImGui::InputInt("timed runs", &s.bench_runs);
    ImGui::SameLine();
    ImGui::SetNextItemWidth(120);
    ImGui::InputInt("N threads", &s.bench_threads);
    ImGui::SameLine();
    ImGui::BeginDisabled(running || !s.model.ctx);
    if (ImGui::Button("Run benchmark")) start_bench(s);
    ImGui::EndDisabled();
    ImGui::SameLine();
    ImGui::TextDisabled("%s", status.c_str());
    if (!error.empty()) ImGui::TextColored(ImVec4(1, 0.4f, 0.4f, 1), "%s", error.c_str());
    if (rows.empty()) return;
    if (ImGui::BeginTable("bench", 6, ImGuiTableFlags_Borders | ImGuiTableFlags_SizingFixedFit)) {
        for (const char *h :
             {"threads", "mean ms", "p50 ms", "p99 ms", "images/s", "p50 vs 1 thread"})
            ImGui::TableSetupColumn(h);
        ImGui::TableHeadersRow();
        for (const bench_row &r : rows) {
            ImGui::TableNextRow();
            ImGui::TableNextColumn();
            ImGui::Text("%d", r.threads);
            ImGui::TableNextColumn();
            ImGui::Text("%.3f", r.mean_ms);
            ImGui::TableNextColumn();
            ImGui::Text("%.3f", r.p50_ms);
            ImGui::TableNextColumn();
            ImGui::Text("%.3f", r.p99_ms);
            ImGui::TableNextColumn();
            ImGui::Text("%.1f", r.images_per_s);
            ImGui::TableNextColumn();
            ImGui::Text("%.2fx", rows[0].p50_ms > 0 ? r.p50_ms / rows[0].p50_ms : 0.0);
        }
        ImGui::EndTable();
    }
    ImGui::Spacing();
    std::vector<std::pair<std::string, float>> p50, ips;
    float max_ms = 0, max_ips = 0;
    for (const bench_row &r : rows) {
        p50.emplace_back(std::to_string(r.threads) + " thread(s) p50 ms", float(r.p50_ms));
        ips.emplace_back(std::to_string(r.threads) + " thread(s) images/s", float(r.images_per_s));
        max_ms = std::max(max_ms, float(r.p99_ms));
        max_ips = std::max(max_ips, float(r.images_per_s));
    }
    hbar_chart(s, "bench.p50", 700, p50, max_ms, k_col_blue, "%.2f");
    ImGui::Spacing();
    hbar_chart(s, "bench.images_per_s", 700, ips, max_ips, k_col_green, "%.0f");
}

}  // namespace folia_lab
