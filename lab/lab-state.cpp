// lab-state.cpp: loading a model through the core's C API, and the visible state as JSON.
#include "lab-state.h"

#include <cmath>

namespace folia_lab {

bool load_model(const std::string &path, int threads, loaded_model *out, std::string *error) {
    std::vector<uint8_t> bytes;
    if (!platform_read_file(path, &bytes, error)) return false;
    folia_params params = folia_default_params();
    params.num_threads = threads;
    folia_context *raw = nullptr;
    char detail[256] = {0};
    const folia_status st =
        folia_init_from_buffer_ex(bytes.data(), bytes.size(), &params, &raw, detail, sizeof detail);
    if (st != FOLIA_OK) {
        *error =
            path + ": " + folia_status_message(st) + (detail[0] ? std::string(": ") + detail : "");
        return false;
    }
    loaded_model m;
    m.path = path;
    m.ctx = context_ptr(raw, context_deleter());
    m.classes = folia_num_classes(raw);
    m.input_size = folia_input_size(raw);
    m.temperature = folia_temperature(raw);
    m.abstain_threshold = folia_abstain_threshold(raw);
    for (int i = 0; i < m.classes; ++i) m.labels.emplace_back(folia_label(raw, i));
    *out = std::move(m);
    return true;
}

nlohmann::json model_json(const loaded_model &m) {
    if (!m.ctx) return nullptr;
    return {{"path", m.path},
            {"classes", m.classes},
            {"input_size", m.input_size},
            {"temperature", m.temperature},
            {"abstain_threshold", m.abstain_threshold}};
}

namespace {

double round_to(double v, double step) {
    return std::round(v / step) * step;
}

nlohmann::json diagnosis_json(const diagnosis_result &d) {
    if (d.file.empty()) return nullptr;
    nlohmann::json j = {{"file", d.file}, {"ok", d.ok}};
    if (!d.ok) {
        j["error"] = d.error;
        return j;
    }
    j["top"] = nlohmann::json::array();
    for (const auto &[label, p] : d.top) j["top"].push_back({{"label", label}, {"p", p}});
    j["sure"] = d.sure;
    j["photo"] = {{"width", d.photo_width}, {"height", d.photo_height}};
    j["timings_ms"] = {{"decode", round_to(d.decode_ms, 1e-3)},
                       {"resize", round_to(d.resize_ms, 1e-3)},
                       {"classify", round_to(d.classify_ms, 1e-3)}};
    return j;
}

nlohmann::json train_json(const train_run &t) {
    if (t.tool.empty()) return nullptr;
    nlohmann::json j = {{"tool", t.tool},
                        {"running", t.child && !t.finished},
                        {"finished", t.finished},
                        {"stopped", t.stopped},
                        {"exit_status", t.exit_status},
                        {"epochs_done", int(t.epochs.size())},
                        {"steps_seen", int(t.steps.size())},
                        {"images_per_s", t.images_per_s},
                        {"eta_s", t.eta_s}};
    nlohmann::json loss = nlohmann::json::array(), acc = nlohmann::json::array();
    for (const auto &e : t.epochs) {
        loss.push_back(e.loss);
        acc.push_back(e.acc);
    }
    j["loss"] = loss;
    j["acc"] = acc;
    j["val_acc"] = t.val_acc;
    // The last lines of the run's log panel (what the user reads when a run fails).
    j["log_tail"] = std::vector<std::string>(
        t.log.end() - std::ptrdiff_t(std::min<size_t>(t.log.size(), 5)), t.log.end());
    if (!t.days.empty()) {
        nlohmann::json days = nlohmann::json::array();
        for (const auto &d : t.days)
            days.push_back({{"day", d.day}, {"accepted", d.accepted}, {"precision", d.precision}});
        j["days"] = days;
    }
    return j;
}

nlohmann::json bench_state_json(const std::shared_ptr<bench_job> &b) {
    if (!b) return nullptr;
    std::lock_guard<std::mutex> lock(b->mutex);
    nlohmann::json rows = nlohmann::json::array();
    for (const auto &r : b->rows)
        rows.push_back({{"threads", r.threads},
                        {"mean_ms", r.mean_ms},
                        {"p50_ms", r.p50_ms},
                        {"p99_ms", r.p99_ms},
                        {"images_per_s", r.images_per_s}});
    nlohmann::json j = {{"running", b->running}, {"rows", rows}};
    if (!b->error.empty()) j["error"] = b->error;
    return j;
}

nlohmann::json eval_state_json(const std::shared_ptr<eval_job> &e) {
    if (!e) return nullptr;
    std::lock_guard<std::mutex> lock(e->mutex);
    nlohmann::json j = {{"model", e->model_path},
                        {"data", e->data_dir},
                        {"running", e->running},
                        {"done", e->done.load()},
                        {"total", e->total.load()}};
    if (!e->error.empty()) j["error"] = e->error;
    if (e->finished && e->error.empty()) j["result"] = eval_json(e->result);
    return j;
}

}  // namespace

nlohmann::json state_json(const lab_state &s) {
    nlohmann::json charts = nlohmann::json::array();
    for (const auto &c : s.charts)
        charts.push_back({{"name", c.name}, {"x", c.x}, {"y", c.y}, {"w", c.w}, {"h", c.h}});
    nlohmann::json j = {
        {"panel", s.panel},
        {"model", model_json(s.model)},
        {"diagnosis", diagnosis_json(s.diagnosis)},
        {"train", train_json(s.train)},
        {"bench", bench_state_json(s.bench)},
        {"evaluate", eval_state_json(s.evaluate)},
        {"compare", {{"a", eval_state_json(s.compare_a)}, {"b", eval_state_json(s.compare_b)}}},
        {"charts", charts},
        {"frames", s.frame}};
    if (!s.model_error.empty()) j["model_error"] = s.model_error;
    return j;
}

bool work_pending(lab_state &s) {
    if (s.diagnose) {
        std::lock_guard<std::mutex> lock(s.diagnose->mutex);
        if (s.diagnose->running || s.diagnose->fresh) return true;
    }
    if (s.bench) {
        std::lock_guard<std::mutex> lock(s.bench->mutex);
        if (s.bench->running) return true;
    }
    for (const auto *e : {&s.evaluate, &s.compare_a, &s.compare_b}) {
        if (!*e) continue;
        std::lock_guard<std::mutex> lock((*e)->mutex);
        if ((*e)->running) return true;
    }
    return s.train.child && !s.train.finished;
}

}  // namespace folia_lab
