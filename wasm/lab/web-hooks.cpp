// web-hooks.cpp: the C functions web/src/lab.js calls (Module.ccall), the page's side of the
// automation hook window.folia_lab. They run on the browser's main thread between frames, so
// they may touch the lab's state like the panels do.
#include <emscripten.h>

#include <string>

#include "web-lab.h"

using namespace folia_lab;

namespace {

lab_state &state() {
    return *current_lab_state();
}

void show(const char *panel) {
    state().panel = panel;
    state().panel_forced = true;
}

}  // namespace

extern "C" {

// 1 once main() has set the lab up and drawn a frame.
EMSCRIPTEN_KEEPALIVE int folia_lab_web_started() {
    return current_lab_state() && current_lab_state()->frame > 0;
}

// The visible state: state_json() (the JSON `folia-lab --screenshot` prints) plus the web tabs'.
EMSCRIPTEN_KEEPALIVE const char *folia_lab_web_state() {
    static std::string out;
    nlohmann::json j = state_json(state());
    const nlohmann::json web = web_state_json(state());  // a named copy: the loop reads it
    for (auto it = web.begin(); it != web.end(); ++it) j[it.key()] = it.value();
    out = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    return out.c_str();
}

// 1 while a diagnosis, benchmark or teaching run is still working.
EMSCRIPTEN_KEEPALIVE int folia_lab_web_busy() {
    std::lock_guard<std::mutex> lock(the_web_lab().teach->mutex);
    return work_pending(state()) || the_web_lab().teach->running;
}

// A photo the page wrote into MEMFS: diagnose it on the Diagnose tab.
EMSCRIPTEN_KEEPALIVE void folia_lab_web_open(const char *path) {
    show("diagnose");
    start_diagnosis(state(), path);
}

EMSCRIPTEN_KEEPALIVE void folia_lab_web_panel(const char *name) {
    show(name);
}

// The seed's harness at 1 and `threads` threads, `runs` timed runs each, on the Bench tab.
EMSCRIPTEN_KEEPALIVE void folia_lab_web_bench(int runs, int threads) {
    show("bench");
    state().bench_runs = runs;
    state().bench_threads = threads;
    start_bench(state());
}

// The app's diagnosis history (JSON array of web/src/history.js entries) in MEMFS.
EMSCRIPTEN_KEEPALIVE int folia_lab_web_history(const char *path) {
    web_lab &w = the_web_lab();
    w.history_error.clear();
    if (!load_history(path, &w.history_error)) return 0;
    return int(w.history.size());
}

// The size of the model file the page gave (the Model tab shows it).
EMSCRIPTEN_KEEPALIVE void folia_lab_web_model_bytes(double size) {
    the_web_lab().model_bytes = size_t(size);
}

// A teaching photo the page wrote into MEMFS, for the class `label` ("" keeps the tab's label).
EMSCRIPTEN_KEEPALIVE int folia_lab_web_teach_add(const char *path, const char *label) {
    web_lab &w = the_web_lab();
    if (label && *label) w.teach_label = label;
    w.teach_photos.emplace_back(path, w.teach_label);
    return int(w.teach_photos.size());
}

EMSCRIPTEN_KEEPALIVE void folia_lab_web_teach(int epochs) {
    show("teach");
    if (epochs > 0) the_web_lab().teach_epochs = epochs;
    start_teaching(state());
}

}  // extern "C"
