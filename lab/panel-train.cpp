// panel-train.cpp: the training tools as child processes with --progress json: each stdout line
// is one event (training/src/progress.h) that becomes a point of the live charts. Stop sends
// SIGTERM (the tools checkpoint after every epoch); Resume starts the same command with
// --resume.
#include <imgui.h>
#include <imgui_stdlib.h>

#include <algorithm>
#include <sstream>

#include "lab-charts.h"
#include "lab-state.h"

namespace folia_lab {

namespace {

constexpr size_t k_log_lines = 200;

struct tool_spec {
    const char *name, *title, *exe, *subcommand, *defaults;
    bool resumable;
};
// Defaults: small runs that finish in seconds to minutes on 2 cores.
constexpr tool_spec k_tools[] = {
    {"supervised", "Supervised (folia-train train)", "folia-train", "train",
     "--max-classes 3 --per-class 8 --size 32 --epochs 2 --batch 8 --threads 2", true},
    {"ssl", "Semi-supervised (folia-ssl run)", "folia-ssl", "run",
     "--max-classes 3 --per-class 60 --size 32 --epochs 2 --batch 8 --max-days 6 --threads 2",
     true},
    {"incremental", "Incremental (folia-incremental)", "folia-incremental", "",
     "--max-classes 4 --per-class 16 --size 32 --first-classes 2 --steps 1 --base-epochs 2 "
     "--step-epochs 2 --strategies finetune --seeds 1 --threads 2",
     false},
};

const tool_spec &tool_named(const std::string &name) {
    for (const tool_spec &t : k_tools)
        if (name == t.name) return t;
    return k_tools[0];
}

std::vector<std::string> split_words(const std::string &s) {
    std::istringstream in(s);
    std::vector<std::string> out;
    for (std::string w; in >> w;) out.push_back(w);
    return out;
}

void keep_log(train_run &t, std::string line) {
    t.log.push_back(std::move(line));
    if (t.log.size() > k_log_lines) t.log.erase(t.log.begin());
}

// A number field of an event, else def: the tools write a NaN or infinite loss (a diverged
// run) as null, and j.value() would throw on it instead of using the default.
double num(const nlohmann::json &j, const char *key, double def) {
    const auto it = j.find(key);
    return it != j.end() && it->is_number() ? it->get<double>() : def;
}

// One --progress json event into the run's series.
void apply_event(train_run &t, const nlohmann::json &j) {
    const auto ev_it = j.find("event");
    const std::string ev = ev_it != j.end() && ev_it->is_string() ? ev_it->get<std::string>() : "";
    if (j.contains("loss") && !j["loss"].is_number())  // NaN/inf: the run diverged
        keep_log(t, "the loss is not a finite number: " + j.dump());
    if (ev == "step") {
        const double steps = std::max(1.0, num(j, "steps", 1.0));
        t.steps.push_back({double(t.epochs.size()) + num(j, "step", 0.0) / steps,
                           num(j, "loss", 0.0), num(j, "acc", 0.0)});
        t.images_per_s = num(j, "images_per_s", 0.0);
        t.eta_s = num(j, "eta_s", -1.0);
        t.epoch = int(num(j, "epoch", 0));
        t.epochs_total = int(num(j, "epochs", 0));
    } else if (ev == "epoch") {
        // x counts epochs across the fits of one run (incremental runs several).
        t.epochs.push_back({double(t.epochs.size() + 1), num(j, "loss", 0.0), num(j, "acc", 0.0)});
        if (j.contains("val_acc")) t.val_acc.push_back(num(j, "val_acc", 0.0));
        t.images_per_s = num(j, "images_per_s", 0.0);
        t.eta_s = num(j, "eta_s", -1.0);
    } else if (ev == "day") {
        t.days.push_back({int(num(j, "day", 0)), int(num(j, "accepted", 0)),
                          num(j, "precision", 0.0), num(j, "day_precision", 0.0),
                          num(j, "val_acc", 0.0)});
        t.eta_s = num(j, "eta_s", -1.0);
    } else if (ev == "round" || ev == "experience") {
        keep_log(t, j.dump());
    }
}

std::string tool_path(const char *exe) {
    const std::string dir = platform_getenv("FOLIA_LAB_TRAINING_DIR");
    return (dir.empty() ? std::string(FOLIA_LAB_TRAINING_DIR) : dir) + "/" + exe;
}

void draw_controls(lab_state &s) {
    const char *titles[] = {k_tools[0].title, k_tools[1].title, k_tools[2].title};
    ImGui::SetNextItemWidth(300);
    if (ImGui::Combo("tool", &s.train_tool, titles, 3)) s.train_extra.clear();
    const tool_spec &spec = k_tools[size_t(std::clamp(s.train_tool, 0, 2))];
    if (s.train_extra.empty()) s.train_extra = spec.defaults;
    ImGui::SetNextItemWidth(560);
    ImGui::InputTextWithHint("data", "<folder>/<label>/<photo> ($FOLIA_DATA)", &s.train_data);
    ImGui::SetNextItemWidth(560);
    ImGui::InputTextWithHint("out", "run folder", &s.train_out);
    ImGui::SetNextItemWidth(900);
    ImGui::InputText("options", &s.train_extra);
    const bool running = s.train.child && !s.train.finished;
    std::string error;
    ImGui::BeginDisabled(running || !platform_capabilities().child_processes);
    if (ImGui::Button("Start")) start_training(s, spec.name, false, &error);
    ImGui::SameLine();
    ImGui::BeginDisabled(!spec.resumable);
    if (ImGui::Button("Resume")) start_training(s, spec.name, true, &error);
    ImGui::EndDisabled();
    ImGui::EndDisabled();
    ImGui::SameLine();
    ImGui::BeginDisabled(!running);
    if (ImGui::Button("Stop")) {
        s.train.child->terminate();
        s.train.stopped = true;
    }
    ImGui::EndDisabled();
    if (!error.empty()) keep_log(s.train, error);
}

void draw_status(const train_run &t) {
    if (t.tool.empty()) {
        ImGui::TextDisabled("No run yet.");
        return;
    }
    const char *state = !t.finished ? "running" : t.stopped ? "stopped" : "finished";
    ImGui::Text("%s: %s (exit %d) | epoch %d/%d | %.0f images/s | ETA %.0f s", t.tool.c_str(),
                state, t.exit_status, t.epoch, t.epochs_total, t.images_per_s, t.eta_s);
}

void draw_charts(lab_state &s) {
    const train_run &t = s.train;
    series step_loss{"loss (steps)", k_col_blue, {}},
        epoch_loss{"loss (epochs)", k_col_orange, {}, true};
    series acc{"train acc", k_col_blue, {}, true}, val{"val acc", k_col_green, {}, true};
    for (const auto &p : t.steps) step_loss.points.emplace_back(float(p.x), float(p.loss));
    for (const auto &p : t.epochs) {
        epoch_loss.points.emplace_back(float(p.x), float(p.loss));
        acc.points.emplace_back(float(p.x), float(p.acc));
    }
    for (size_t i = 0; i < t.val_acc.size(); ++i)
        val.points.emplace_back(float(i + 1), float(t.val_acc[i]));
    const float w = (ImGui::GetContentRegionAvail().x - 8) / 2;
    line_chart(s, "train.loss", ImVec2(w, 260), {step_loss, epoch_loss}, "epoch");
    ImGui::SameLine(0, 8);
    line_chart(s, "train.acc", ImVec2(w, 260), {acc, val}, "epoch", 0.0f, 1.0f);
    if (t.days.empty()) return;
    series prec{"precision of all pseudo-labels", k_col_green, {}, true};
    series day_prec{"precision of the day's", k_col_orange, {}, true};
    std::vector<float> accepted;
    std::vector<std::string> xl;
    for (const auto &d : t.days) {
        prec.points.emplace_back(float(d.day), float(d.precision));
        day_prec.points.emplace_back(float(d.day), float(d.day_precision));
        accepted.push_back(float(d.accepted));
        xl.push_back(std::to_string(d.day));
    }
    bar_groups_chart(s, "train.ssl_pseudo_labels", ImVec2(w, 200), {accepted}, {k_col_blue},
                     {"pseudo-labels accepted per day"}, xl);
    ImGui::SameLine(0, 8);
    line_chart(s, "train.ssl_precision", ImVec2(w, 200), {prec, day_prec}, "day", 0.0f, 1.0f);
}

}  // namespace

bool start_training(lab_state &s, const std::string &tool, bool resume, std::string *error) {
    if (s.train.child && !s.train.finished) {
        *error = "a run is still going";
        return false;
    }
    const tool_spec &spec = tool_named(tool);
    s.train_tool = int(&spec - k_tools);
    if (s.train_extra.empty()) s.train_extra = spec.defaults;
    if (s.train_out.empty()) s.train_out = std::string(FOLIA_LAB_RUN_DIR) + "/" + spec.name;
    std::vector<std::string> argv = {tool_path(spec.exe)};
    if (*spec.subcommand) argv.push_back(spec.subcommand);
    if (!s.train_data.empty()) argv.insert(argv.end(), {"--data", s.train_data});
    // The split and the image cache live in the run folder, never in the source tree.
    argv.insert(argv.end(), {"--out", s.train_out, "--split", s.train_out + "/split.json",
                             "--cache-dir", s.train_out + "/cache", "--progress", "json"});
    for (std::string &w : split_words(s.train_extra)) argv.push_back(std::move(w));
    if (resume) argv.push_back("--resume");
    train_run t;
    t.tool = spec.name;
    t.argv = argv;
    t.child = platform_spawn(argv, error);
    if (!t.child) return false;
    std::string cmd;
    for (const auto &a : argv) cmd += a + " ";
    t.log.push_back("$ " + cmd);
    s.train = std::move(t);
    return true;
}

void poll_training(lab_state &s) {
    train_run &t = s.train;
    if (!t.child || t.finished) return;
    std::vector<std::string> lines;
    t.child->poll_lines(&lines);
    for (std::string &l : lines) {
        if (!l.empty() && l[0] == '{') {
            nlohmann::json j = nlohmann::json::parse(l, nullptr, false);
            if (!j.is_discarded() && j.is_object()) {
                apply_event(t, j);
                continue;
            }
        }
        keep_log(t, std::move(l));
    }
    if (!t.child->running()) {
        t.finished = true;
        t.exit_status = t.child->exit_status();
        keep_log(t, "exit status " + std::to_string(t.exit_status));
    }
}

void draw_train_panel(lab_state &s) {
    draw_controls(s);
    ImGui::Separator();
    draw_status(s.train);
    draw_charts(s);
    ImGui::BeginChild("train-log", ImVec2(0, 0), true, ImGuiWindowFlags_HorizontalScrollbar);
    for (const std::string &l : s.train.log) ImGui::TextUnformatted(l.c_str());
    if (ImGui::GetScrollY() >= ImGui::GetScrollMaxY()) ImGui::SetScrollHereY(1.0f);
    ImGui::EndChild();
}

}  // namespace folia_lab
