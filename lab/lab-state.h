// lab-state.h: everything the lab shows, owned by the UI thread, and the JSON of the visible
// state that `--screenshot` prints (tests assert on it). Work that takes time runs on a worker
// (platform_run_async) or in a child process; its results arrive through the job structs'
// mutex-guarded fields and are copied into the state on the UI thread.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "folia.h"
#include "lab-eval.h"
#include "platform.h"

namespace folia_lab {

struct context_deleter {
    void operator()(folia_context *ctx) const { folia_free(ctx); }
};
using context_ptr = std::shared_ptr<folia_context>;

// A model file loaded into an engine. The context is shared with workers; a worker that
// classifies holds `busy` so two jobs never use one context at once.
struct loaded_model {
    std::string path;
    context_ptr ctx;
    int classes = 0, input_size = 0;
    float temperature = 1, abstain_threshold = 0;
    std::vector<std::string> labels;
};
// On failure returns false and sets error ("PATH: reason: detail").
bool load_model(const std::string &path, int threads, loaded_model *out, std::string *error);
nlohmann::json model_json(const loaded_model &m);

// A drawn chart's rectangle in window pixels (top-left origin), reported in the JSON so tests
// can look for drawn pixels inside it.
struct chart_rect {
    std::string name;
    float x = 0, y = 0, w = 0, h = 0;
};

// ---- Diagnose -------------------------------------------------------------------------------
struct rgb_image {
    int width = 0, height = 0;
    std::vector<uint8_t> rgb;  // (height, width, 3) u8
};
struct diagnosis_result {
    bool ok = false;
    std::string file, error;
    std::vector<std::pair<std::string, float>> top;  // best first, calibrated p
    bool sure = false;
    double decode_ms = 0, resize_ms = 0, classify_ms = 0;  // classify: decode + resize + net
    int photo_width = 0, photo_height = 0;
    rgb_image photo;    // downscaled for display
    rgb_image network;  // the input_size x input_size image the network sees
};
struct diagnose_job {
    std::mutex mutex;
    bool running = false, fresh = false;  // fresh: a result the UI has not taken yet
    diagnosis_result result;
};

// ---- Bench ----------------------------------------------------------------------------------
struct bench_row {
    int threads = 0;
    double mean_ms = 0, p50_ms = 0, p99_ms = 0, images_per_s = 0;
};
struct bench_job {
    std::mutex mutex;
    bool running = false;
    std::string status, error;
    std::vector<bench_row> rows;
};

// ---- Train ----------------------------------------------------------------------------------
struct train_point {
    double x = 0, loss = 0, acc = 0;
};
struct ssl_day {
    int day = 0, accepted = 0;
    double precision = 0, day_precision = 0, val_acc = 0;
};
struct train_run {
    std::string tool;  // "supervised", "ssl", "incremental"
    std::vector<std::string> argv;
    std::unique_ptr<child_process> child;
    bool finished = false, stopped = false;
    int exit_status = 0;
    std::vector<train_point> steps;   // x = fractional epoch
    std::vector<train_point> epochs;  // x = epoch number
    std::vector<double> val_acc;      // per epoch (when the run validates)
    std::vector<ssl_day> days;
    double images_per_s = 0, eta_s = -1;
    int epoch = 0, epochs_total = 0;
    std::vector<std::string> log;  // last lines that were not JSON events, and events' errors
};

// ---- the whole lab ----------------------------------------------------------------------------
struct lab_state {
    std::string panel = "diagnose";  // diagnose, train, evaluate, bench, compare
    bool panel_forced = false;       // --panel: select that tab on the next frame
    loaded_model model;
    std::string model_error;
    std::string model_path_field, image_path_field;
    diagnosis_result diagnosis;
    std::shared_ptr<diagnose_job> diagnose;
    unsigned photo_texture = 0, network_texture = 0;
    std::shared_ptr<bench_job> bench;
    int bench_runs = 100, bench_threads = 0;
    train_run train;
    std::string train_data, train_out, train_extra;
    int train_tool = 0;
    std::shared_ptr<eval_job> evaluate;
    std::shared_ptr<eval_job> compare_a, compare_b;
    std::string eval_model_field, eval_data_field, compare_model_b_field;
    int eval_per_class = 20;
    std::vector<chart_rect> charts;  // this frame's charts
    int frame = 0;
};

// The test-facing JSON: panel, model, diagnosis, train, bench, evaluate, compare, charts.
nlohmann::json state_json(const lab_state &s);

// The running lab's state (main.cpp), for platform code driven from outside the frame loop
// (the web page's hooks, wasm/lab/web-hooks.cpp); nullptr before main() set it up.
lab_state *current_lab_state();
// Tabs a platform adds after the common ones (web: Model, History, Teach; native: none).
struct panel_def {
    const char *name, *title;
    void (*draw)(lab_state &);
};
std::vector<panel_def> platform_panels();

// Panels (panel-*.cpp): each draws its tab's content for one frame.
void draw_diagnose_panel(lab_state &s);
void draw_train_panel(lab_state &s);
void draw_evaluate_panel(lab_state &s);
void draw_bench_panel(lab_state &s);
void draw_compare_panel(lab_state &s);

// Starts work (also used by the command-line automation flags).
void start_diagnosis(lab_state &s, const std::string &path);
void start_bench(lab_state &s);
bool start_training(lab_state &s, const std::string &tool, bool resume, std::string *error);
void start_evaluation(lab_state &s);
void start_compare(lab_state &s);
// Reads the child's lines into the run (UI thread, once per frame).
void poll_training(lab_state &s);
// True while any job or child process is still working (automation waits for them).
bool work_pending(lab_state &s);

}  // namespace folia_lab
