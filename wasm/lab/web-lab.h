// web-lab.h: what only the web lab has: the Model, History and Teach tabs (panels-web.cpp) and
// their state, which the page's hooks (web-hooks.cpp) fill and report.
#pragma once

#include <imgui.h>

#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "lab-state.h"

namespace folia_lab {

// One past diagnosis of the app (web/src/history.js entry: {time, file, top, sure, ms}).
struct history_entry {
    std::string label;  // top-1
    float p = 0;        // top-1 probability
    bool sure = false;
};

// Teaching (folia_teach_*) on photos the page wrote into MEMFS, on the job thread.
struct teach_job {
    std::mutex mutex;
    bool running = false, finished = false;
    std::string error, summary_json, model_path;  // model_path: the taught model in MEMFS
    float fraction = 0;                           // of the run, features pass included
    std::vector<ImVec2> loss;                     // (fraction of the run, loss) per step
};

struct web_lab {
    std::vector<history_entry> history;
    std::string history_error;
    std::vector<std::pair<std::string, std::string>> teach_photos;  // (path, label)
    std::string teach_label = "My_plant___New_disease";
    int teach_epochs = 10;
    std::shared_ptr<teach_job> teach = std::make_shared<teach_job>();
    size_t model_bytes = 0;
};
web_lab &the_web_lab();

// Reads the history JSON the page wrote (an array of history.js entries).
bool load_history(const std::string &path, std::string *error);
void start_teaching(lab_state &s);
nlohmann::json web_state_json(const lab_state &s);

void draw_model_panel(lab_state &s);
void draw_history_panel(lab_state &s);
void draw_teach_panel(lab_state &s);

}  // namespace folia_lab
