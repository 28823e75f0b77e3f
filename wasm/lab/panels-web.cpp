// panels-web.cpp: the web lab's own tabs. Model: what the page loaded. History: the confidence
// distribution of the farmer's own diagnoses (the app's IndexedDB history, given by the page).
// Teach: the core's teaching API on photos the page gave, with the loss curve as it runs.
#include <imgui.h>
#include <imgui_stdlib.h>

#include <algorithm>
#include <cstdio>
#include <map>

#include "lab-charts.h"
#include "web-lab.h"

namespace folia_lab {

web_lab &the_web_lab() {
    static web_lab w;
    return w;
}

bool load_history(const std::string &path, std::string *error) {
    std::vector<uint8_t> bytes;
    if (!platform_read_file(path, &bytes, error)) return false;
    const nlohmann::json j = nlohmann::json::parse(bytes.begin(), bytes.end(), nullptr, false);
    if (!j.is_array()) {
        *error = path + ": not a JSON array of diagnoses";
        return false;
    }
    std::vector<history_entry> out;
    for (const auto &e : j) {
        if (!e.is_object() || !e.contains("top") || !e["top"].is_array() || e["top"].empty())
            continue;  // a malformed entry is skipped, not fatal: the history is the app's
        const auto &t = e["top"][0];
        if (!t.contains("label") || !t.contains("p") || !t["p"].is_number()) continue;
        out.push_back({t["label"].get<std::string>(), t["p"].get<float>(), e.value("sure", false)});
    }
    the_web_lab().history = std::move(out);
    return true;
}

void draw_model_panel(lab_state &s) {
    const web_lab &w = the_web_lab();
    if (!s.model.ctx) {
        ImGui::TextWrapped("No model: %s", s.model_error.c_str());
        return;
    }
    ImGui::Text("File: %s (%zu bytes)", s.model.path.c_str(), w.model_bytes);
    ImGui::Text("%d classes, input %d x %d x 3, temperature %.4f, \"not sure\" below p = %.3f",
                s.model.classes, s.model.input_size, s.model.input_size,
                double(s.model.temperature), double(s.model.abstain_threshold));
    const platform_caps caps = platform_capabilities();
    ImGui::Text("Engine: WebAssembly SIMD, %s",
                caps.threads ? "threads (cross-origin isolated)" : "single thread");
    ImGui::Separator();
    if (ImGui::BeginTable(
            "labels", 2,
            ImGuiTableFlags_RowBg | ImGuiTableFlags_ScrollY | ImGuiTableFlags_BordersInnerV,
            ImVec2(0, ImGui::GetContentRegionAvail().y))) {
        ImGui::TableSetupColumn("#", ImGuiTableColumnFlags_WidthFixed, 40);
        ImGui::TableSetupColumn("label");
        ImGui::TableHeadersRow();
        for (int i = 0; i < s.model.classes; ++i) {
            ImGui::TableNextRow();
            ImGui::TableNextColumn();
            ImGui::Text("%d", i);
            ImGui::TableNextColumn();
            ImGui::TextUnformatted(s.model.labels[size_t(i)].c_str());
        }
        ImGui::EndTable();
    }
}

namespace {

// Top-1 probabilities in k_conf_bins bins, for sure and not-sure answers.
void history_bins(const std::vector<history_entry> &h, std::vector<float> *sure,
                  std::vector<float> *not_sure) {
    sure->assign(k_conf_bins, 0);
    not_sure->assign(k_conf_bins, 0);
    for (const auto &e : h) {
        const int b = std::clamp(int(e.p * k_conf_bins), 0, k_conf_bins - 1);
        (e.sure ? *sure : *not_sure)[size_t(b)] += 1;
    }
}

}  // namespace

void draw_history_panel(lab_state &s) {
    const web_lab &w = the_web_lab();
    if (!w.history_error.empty())
        ImGui::TextColored(ImVec4(1, .4f, .4f, 1), "%s", w.history_error.c_str());
    if (w.history.empty()) {
        ImGui::TextWrapped(
            "No diagnoses on this device yet: diagnose photos in the app, then "
            "come back.");
        return;
    }
    int sure = 0;
    double sum_p = 0;
    std::map<std::string, int> by_label;
    for (const auto &e : w.history) {
        sure += e.sure;
        sum_p += e.p;
        ++by_label[e.label];
    }
    ImGui::Text("%zu diagnoses on this device: %d sure, %d not sure; mean top-1 p %.3f",
                w.history.size(), sure, int(w.history.size()) - sure,
                sum_p / double(w.history.size()));
    std::vector<float> b_sure, b_not;
    history_bins(w.history, &b_sure, &b_not);
    std::vector<std::string> x_labels;
    for (int i = 0; i < k_conf_bins; ++i) {
        char buf[16];
        std::snprintf(buf, sizeof buf, "%.1f", double(i) / k_conf_bins);
        x_labels.push_back(buf);
    }
    ImGui::TextUnformatted("Top-1 probability of each diagnosis");
    bar_groups_chart(s, "history_confidence", ImVec2(ImGui::GetContentRegionAvail().x, 240),
                     {b_sure, b_not}, {k_col_green, k_col_orange}, {"sure", "not sure"}, x_labels);
    std::vector<std::pair<std::string, float>> rows(by_label.begin(), by_label.end());
    std::sort(rows.begin(), rows.end(), [](auto &a, auto &b) { return a.second > b.second; });
    if (rows.size() > 10) rows.resize(10);
    ImGui::TextUnformatted("Most frequent answers");
    hbar_chart(s, "history_labels", ImGui::GetContentRegionAvail().x, rows,
               rows.empty() ? 1.0f : rows.front().second, k_col_blue, "%.0f");
}

void start_teaching(lab_state &s) {
    web_lab &w = the_web_lab();
    if (!s.model.ctx || w.teach_photos.empty()) return;
    auto job = w.teach;
    {
        std::lock_guard<std::mutex> lock(job->mutex);
        if (job->running) return;
        job->running = true;
        job->finished = false;
        job->error.clear();
        job->loss.clear();
        job->fraction = 0;
    }
    auto ctx = s.model.ctx;
    const auto photos = w.teach_photos;
    const int epochs = std::max(1, w.teach_epochs);
    platform_run_async([job, ctx, photos, epochs] {
        std::string error, summary, out_path;
        folia_teach_params p = folia_default_teach_params();
        p.epochs = epochs;
        folia_teach_session *t = nullptr;
        folia_status st = folia_teach_begin(ctx.get(), &p, &t);
        for (size_t i = 0; st == FOLIA_OK && i < photos.size(); ++i) {
            std::vector<uint8_t> bytes;
            if (!platform_read_file(photos[i].first, &bytes, &error)) break;
            st = folia_teach_add_image(t, photos[i].second.c_str(), nullptr, bytes.data(),
                                       bytes.size());
        }
        // The core reports its feature pass with loss 0, then one call per training step.
        auto progress = [](float fraction, float loss, void *user) -> int {
            auto *j = static_cast<teach_job *>(user);
            std::lock_guard<std::mutex> lock(j->mutex);
            j->fraction = fraction;
            if (loss > 0) j->loss.push_back(ImVec2(fraction, loss));
            return 0;
        };
        if (st == FOLIA_OK && error.empty()) st = folia_teach_run(t, progress, job.get());
        uint8_t *model = nullptr;
        size_t size = 0;
        if (st == FOLIA_OK && error.empty()) {
            summary = folia_teach_summary_json(t);
            st = folia_teach_result(t, &model, &size);
        }
        if (st == FOLIA_OK && model) {
            out_path = "/lab/taught.folia";
            if (!platform_write_file(out_path, model, size, &error)) out_path.clear();
        }
        folia_buffer_free(model);
        if (st != FOLIA_OK && error.empty()) error = folia_status_message(st);
        folia_teach_free(t);
        std::lock_guard<std::mutex> lock(job->mutex);
        job->running = false;
        job->finished = true;
        job->error = error;
        job->summary_json = summary;
        job->model_path = out_path;
    });
}

void draw_teach_panel(lab_state &s) {
    web_lab &w = the_web_lab();
    bool running, finished;
    std::string error, summary, model_path;
    std::vector<ImVec2> loss;
    float fraction;
    {
        std::lock_guard<std::mutex> lock(w.teach->mutex);
        running = w.teach->running;
        finished = w.teach->finished;
        error = w.teach->error;
        summary = w.teach->summary_json;
        model_path = w.teach->model_path;
        loss = w.teach->loss;
        fraction = w.teach->fraction;
    }
    ImGui::TextWrapped(
        "Teach the model a class from your own photos (\"Teach photos\" above): "
        "the classifier head is fine-tuned on augmented views, the old classes "
        "replayed from the model's exemplars.");
    ImGui::Text("%zu photos", w.teach_photos.size());
    ImGui::SameLine(0, 20);
    ImGui::SetNextItemWidth(320);
    ImGui::InputText("label", &w.teach_label);
    ImGui::SameLine(0, 20);
    ImGui::SetNextItemWidth(120);
    ImGui::SliderInt("epochs", &w.teach_epochs, 1, 60);
    ImGui::SameLine(0, 20);
    ImGui::BeginDisabled(running || w.teach_photos.empty() || !s.model.ctx);
    if (ImGui::Button("Teach")) start_teaching(s);
    ImGui::EndDisabled();
    if (running) {
        ImGui::SameLine();
        ImGui::Text("teaching... %.0f %%", 100.0 * double(fraction));
    }
    if (!error.empty()) ImGui::TextColored(ImVec4(1, .4f, .4f, 1), "%s", error.c_str());
    line_chart(s, "teach_loss", ImVec2(ImGui::GetContentRegionAvail().x, 260),
               {{"loss", k_col_orange, loss, false}}, "fraction of the run");
    if (finished && error.empty()) {
        ImGui::TextWrapped("Done: %s", summary.c_str());
        if (ImGui::Button("Use the taught model in the lab")) {
            std::string e;
            loaded_model m;
            if (load_model(model_path, 1, &m, &e))
                s.model = std::move(m);
            else
                s.model_error = e;
        }
    }
}

// The tabs the web lab adds to the common ones (main.cpp draws them after those).
std::vector<panel_def> platform_panels() {
    return {{"model", "Model", draw_model_panel},
            {"history", "History", draw_history_panel},
            {"teach", "Teach", draw_teach_panel}};
}

nlohmann::json web_state_json(const lab_state &) {
    web_lab &w = the_web_lab();
    int sure = 0;
    for (const auto &e : w.history) sure += e.sure;
    nlohmann::json j;
    j["history"] = {{"entries", w.history.size()}, {"sure", sure}};
    std::lock_guard<std::mutex> lock(w.teach->mutex);
    nlohmann::json loss = nlohmann::json::array();
    for (const ImVec2 &p : w.teach->loss) loss.push_back({p.x, p.y});
    j["teach"] = {{"photos", w.teach_photos.size()},
                  {"running", w.teach->running},
                  {"finished", w.teach->finished},
                  {"loss", loss}};
    if (!w.teach->error.empty()) j["teach"]["error"] = w.teach->error;
    if (!w.teach->summary_json.empty())
        j["teach"]["summary"] = nlohmann::json::parse(w.teach->summary_json, nullptr, false);
    return j;
}

}  // namespace folia_lab
