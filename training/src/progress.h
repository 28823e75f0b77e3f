// progress.h: a one-line progress bar on stderr (loss, accuracy, images/s, ETA), redrawn at
// most ~10 times a second. When stderr is not a terminal (nohup logs) it prints a plain line
// every 30 s and one per finished bar instead, so logs stay readable.
//
// With --progress json (set_progress_json(true), every training tool's main) the bars stay
// silent and the tools print one JSON object per line on stdout instead (emit_progress), which
// the lab (lab/panel-train.cpp) reads while the run goes on.
#pragma once

#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

namespace folia::train {

// Process-wide: the tools set it once in main() before any work starts.
void set_progress_json(bool on);
bool progress_json();
// Prints {"event": event, ...fields} as one line on stdout and flushes it (thread-safe).
// Events: "step" (inside an epoch), "epoch", "day" and "round" (folia-ssl run), "experience"
// (folia-incremental), "done". Does nothing unless progress_json().
void emit_progress(const std::string &event, nlohmann::json fields = nlohmann::json::object());

class progress_bar {
  public:
    // total: number of items (images) this bar counts to; label: shown on the left.
    progress_bar(std::string label, int64_t total, bool force_draw = false);
    // done: items finished so far; extra: free text (e.g. "loss 0.512 acc 83.1%").
    void update(int64_t done, const std::string &extra = "");
    // Prints the final line (always, terminal or not) with the elapsed time.
    void finish(const std::string &extra = "");
    double elapsed_s() const;
    double items_per_s() const;

  private:
    void draw(bool final_line);
    std::string label_;
    int64_t total_, done_ = 0;
    std::string extra_;
    bool tty_;
    std::chrono::steady_clock::time_point start_, last_draw_;
};

std::string format_duration(double seconds);  // "1h02m", "3m05s", "42s"

}  // namespace folia::train
