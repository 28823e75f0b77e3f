// progress.h: a one-line progress bar on stderr (loss, accuracy, images/s, ETA), redrawn at
// most ~10 times a second. When stderr is not a terminal (nohup logs) it prints a plain line
// every 30 s and one per finished bar instead, so logs stay readable.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace folia::train {

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
