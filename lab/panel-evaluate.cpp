// panel-evaluate.cpp: Evaluate (one model on a labelled folder) and Compare (two models on the
// same folder, side by side). The evaluations run on workers (lab-eval.cpp).
#include <imgui.h>
#include <imgui_stdlib.h>

#include <algorithm>
#include <cstdio>

#include "lab-charts.h"
#include "lab-state.h"

namespace folia_lab {

namespace {

std::shared_ptr<eval_job> launch(const std::string &model, const std::string &dir, int per_class) {
    auto job = std::make_shared<eval_job>();
    job->model_path = model;
    job->data_dir = dir;
    job->per_class = per_class;
    job->running = true;
    platform_run_async([job] { run_evaluation(*job); });
    return job;
}

bool is_running(const std::shared_ptr<eval_job> &j) {
    if (!j) return false;
    std::lock_guard<std::mutex> lock(j->mutex);
    return j->running;
}

// Progress or error of a job; true when its result is ready (copied into *out).
bool job_result(const std::shared_ptr<eval_job> &j, eval_result *out) {
    if (!j) return false;
    std::lock_guard<std::mutex> lock(j->mutex);
    if (j->running) {
        const int total = std::max(1, j->total.load());
        ImGui::ProgressBar(
            float(j->done) / float(total), ImVec2(400, 0),
            (std::to_string(j->done) + " / " + std::to_string(j->total) + " photos").c_str());
        return false;
    }
    if (!j->error.empty()) {
        ImGui::TextColored(ImVec4(1, 0.4f, 0.4f, 1), "%s", j->error.c_str());
        return false;
    }
    if (!j->finished) return false;
    *out = j->result;
    return true;
}

void summary_lines(const eval_result &r) {
    ImGui::Text("%d photos (%d skipped), %.1f s", r.images, r.skipped, r.seconds);
    ImGui::Text("top-1 accuracy %.2f %%, ECE %.3f", 100 * r.accuracy(), r.ece);
    const int wrong = r.images - r.correct;
    ImGui::Text("not sure: %.1f %% of all, %.1f %% of right, %.1f %% of wrong answers",
                100 * r.not_sure_rate(), r.correct ? 100.0 * r.not_sure_right / r.correct : 0.0,
                wrong ? 100.0 * r.not_sure_wrong / wrong : 0.0);
}

std::vector<std::string> bin_labels() {
    std::vector<std::string> l;
    char buf[8];
    for (int b = 0; b < k_conf_bins; ++b) {
        std::snprintf(buf, sizeof buf, ".%d", b);
        l.push_back(buf);
    }
    return l;
}

void confidence_histogram(lab_state &s, const char *name, const eval_result &r, ImVec2 size) {
    std::vector<float> right(r.hist_right.begin(), r.hist_right.end());
    std::vector<float> wrong(r.hist_wrong.begin(), r.hist_wrong.end());
    bar_groups_chart(s, name, size, {right, wrong}, {k_col_green, k_col_red},
                     {"right", "wrong (top-1 p, bins of 0.1)"}, bin_labels());
}

void per_class_bars(lab_state &s, const char *name, const eval_result &r, float width) {
    std::vector<std::pair<std::string, float>> rows;
    for (int c = 0; c < r.classes; ++c)
        if (r.per_class_total[size_t(c)] > 0)
            rows.emplace_back(r.labels[size_t(c)], float(r.per_class_right[size_t(c)]) /
                                                       float(r.per_class_total[size_t(c)]));
    hbar_chart(s, name, width, rows, 1.0f, k_col_blue, "%.2f");
}

void draw_evaluation(lab_state &s, const eval_result &r) {
    summary_lines(r);
    heat_map(s, "evaluate.confusion", ImVec2(380, 380), r.classes, r.confusion, r.labels);
    ImGui::SameLine();
    ImGui::BeginGroup();
    confidence_histogram(s, "evaluate.confidence", r, ImVec2(420, 185));
    reliability_chart(s, "evaluate.reliability", ImVec2(420, 185), r.bin_conf, r.bin_acc,
                      r.bin_count);
    ImGui::EndGroup();
    ImGui::SameLine();
    ImGui::BeginChild("per-class", ImVec2(0, 380), true);
    ImGui::Text("per-class accuracy");
    per_class_bars(s, "evaluate.per_class", r, ImGui::GetContentRegionAvail().x);
    ImGui::EndChild();
}

void folder_fields(lab_state &s) {
    ImGui::SetNextItemWidth(560);
    ImGui::InputTextWithHint("data folder", "<folder>/<label>/<photo>", &s.eval_data_field);
    ImGui::SameLine();
    ImGui::SetNextItemWidth(100);
    ImGui::InputInt("photos per class (0: all)", &s.eval_per_class);
}

}  // namespace

void start_evaluation(lab_state &s) {
    if (is_running(s.evaluate)) return;
    const std::string model = s.eval_model_field.empty() ? s.model.path : s.eval_model_field;
    s.evaluate = launch(model, s.eval_data_field, s.eval_per_class);
}

void start_compare(lab_state &s) {
    if (is_running(s.compare_a) || is_running(s.compare_b)) return;
    s.compare_a = launch(s.model.path, s.eval_data_field, s.eval_per_class);
    s.compare_b = launch(s.compare_model_b_field, s.eval_data_field, s.eval_per_class);
}

void draw_evaluate_panel(lab_state &s) {
    ImGui::SetNextItemWidth(560);
    ImGui::InputTextWithHint("model", s.model.path.c_str(), &s.eval_model_field);
    folder_fields(s);
    ImGui::BeginDisabled(is_running(s.evaluate));
    if (ImGui::Button("Evaluate")) start_evaluation(s);
    ImGui::EndDisabled();
    ImGui::Separator();
    eval_result r;
    if (job_result(s.evaluate, &r)) draw_evaluation(s, r);
}

void draw_compare_panel(lab_state &s) {
    ImGui::Text("A: %s", s.model.path.c_str());
    ImGui::SetNextItemWidth(560);
    ImGui::InputTextWithHint("B: model", "second model file (.folia)", &s.compare_model_b_field);
    folder_fields(s);
    ImGui::BeginDisabled(is_running(s.compare_a) || is_running(s.compare_b));
    if (ImGui::Button("Compare")) start_compare(s);
    ImGui::EndDisabled();
    ImGui::Separator();
    eval_result ra, rb;
    const float col = (ImGui::GetContentRegionAvail().x - 16) / 2;
    ImGui::BeginGroup();
    ImGui::Text("A");
    const bool a = job_result(s.compare_a, &ra);
    if (a) {
        summary_lines(ra);
        confidence_histogram(s, "compare.a.confidence", ra, ImVec2(col, 170));
    }
    ImGui::EndGroup();
    ImGui::SameLine(0, 16);
    ImGui::BeginGroup();
    ImGui::Text("B");
    const bool b = job_result(s.compare_b, &rb);
    if (b) {
        summary_lines(rb);
        confidence_histogram(s, "compare.b.confidence", rb, ImVec2(col, 170));
    }
    ImGui::EndGroup();
    if (!a || !b || ra.predictions.size() != rb.predictions.size()) return;
    int both = 0, agree = 0;
    for (size_t i = 0; i < ra.predictions.size(); ++i) {
        if (ra.predictions[i] < 0 || rb.predictions[i] < 0) continue;
        ++both;
        // Labels, not indices: the two models may order (or even hold) classes differently.
        agree += ra.labels[size_t(ra.predictions[i])] == rb.labels[size_t(rb.predictions[i])];
    }
    ImGui::Text("A and B give the same top-1 on %d of %d photos (%.1f %%)", agree, both,
                both ? 100.0 * agree / both : 0.0);
    std::vector<float> acc_a, acc_b;
    std::vector<std::string> xl;
    for (int c = 0; c < ra.classes; ++c) {
        if (ra.per_class_total[size_t(c)] == 0) continue;
        acc_a.push_back(float(ra.per_class_right[size_t(c)]) /
                        float(ra.per_class_total[size_t(c)]));
        const auto it = std::find(rb.labels.begin(), rb.labels.end(), ra.labels[size_t(c)]);
        const size_t cb = size_t(it - rb.labels.begin());
        acc_b.push_back(it != rb.labels.end() && rb.per_class_total[cb]
                            ? float(rb.per_class_right[cb]) / float(rb.per_class_total[cb])
                            : 0.0f);
        xl.push_back(std::to_string(c));
    }
    bar_groups_chart(s, "compare.per_class", ImVec2(2 * col + 16, 200), {acc_a, acc_b},
                     {k_col_blue, k_col_orange}, {"A per-class accuracy", "B"}, xl);
}

}  // namespace folia_lab
