// progress.cpp
#include "progress.h"

#include <atomic>
#include <cstdio>
#include <mutex>
#include <unistd.h>

namespace folia::train {

namespace {
std::atomic<bool> g_progress_json{false};
std::mutex g_emit_mutex;
}  // namespace

void set_progress_json(bool on) {
    g_progress_json = on;
}
bool progress_json() {
    return g_progress_json;
}

void emit_progress(const std::string &event, nlohmann::json fields) {
    if (!progress_json()) return;
    nlohmann::json j = {{"event", event}};
    j.update(fields);
    // Non-finite numbers would dump as null: readers then see a missing figure, not garbage.
    const std::string line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    std::lock_guard<std::mutex> lock(g_emit_mutex);
    std::fputs((line + "\n").c_str(), stdout);
    std::fflush(stdout);
}

std::string format_duration(double s) {
    if (!(s >= 0) || s > 1e7) return "?";
    char buf[32];
    const long t = long(s + 0.5);
    if (t >= 3600)
        std::snprintf(buf, sizeof buf, "%ldh%02ldm", t / 3600, (t / 60) % 60);
    else if (t >= 60)
        std::snprintf(buf, sizeof buf, "%ldm%02lds", t / 60, t % 60);
    else
        std::snprintf(buf, sizeof buf, "%lds", t);
    return buf;
}

progress_bar::progress_bar(std::string label, int64_t total, bool force_draw)
    : label_(std::move(label)),
      total_(total),
      tty_(force_draw || ::isatty(2)),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {}

double progress_bar::elapsed_s() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

double progress_bar::items_per_s() const {
    const double t = elapsed_s();
    return t > 0 ? double(done_) / t : 0.0;
}

void progress_bar::update(int64_t done, const std::string &extra) {
    done_ = done;
    extra_ = extra;
    const auto now = std::chrono::steady_clock::now();
    // A terminal gets a redrawn line 10 times a second; a log file a full line every 30 s.
    const double every = tty_ ? 0.1 : 30.0;
    if (std::chrono::duration<double>(now - last_draw_).count() >= every) {
        last_draw_ = now;
        draw(false);
    }
}

void progress_bar::finish(const std::string &extra) {
    if (!extra.empty()) extra_ = extra;
    draw(true);
}

void progress_bar::draw(bool final_line) {
    if (progress_json()) return;  // the JSON lines replace the bar
    constexpr int width = 24;
    const double frac = total_ > 0 ? double(done_) / double(total_) : 1.0;
    const int fill = int(frac * width + 0.5);
    std::string bar(size_t(fill), '#');
    bar.resize(width, '.');
    const double rate = items_per_s();
    const double eta = rate > 0 ? double(total_ - done_) / rate : -1;
    std::fprintf(stderr, "%s%s [%s] %lld/%lld %.0f img/s %s %s%s", tty_ ? "\r\033[K" : "",
                 label_.c_str(), bar.c_str(), (long long)done_, (long long)total_, rate,
                 final_line ? ("in " + format_duration(elapsed_s())).c_str()
                            : ("ETA " + format_duration(eta)).c_str(),
                 extra_.c_str(), final_line || !tty_ ? "\n" : "");
    std::fflush(stderr);
}

}  // namespace folia::train
