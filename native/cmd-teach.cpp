// cmd-teach.cpp: `folia teach [--model M] -o OUT.folia [--json] [--epochs E] [--seed S] DIR...`
// Each DIR holds photos (JPEG/PNG) of one class, named by the DIR's base name: a label the model
// knows gets more examples, an unknown one becomes a new class. Teaching runs in the shared core
// (folia_teach_* of folia.h), exactly as in the browser. Any refused photo: exit 1, one line per
// refused file, and nothing written (an existing OUT is untouched: the write is atomic).
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <unistd.h>
#include <vector>

#include "commands.h"
#include "file-io.h"
#include "model-loader.h"

namespace folia_cli {

namespace {

namespace fs = std::filesystem;

struct teach_options {
    std::string model;
    std::string out;
    bool json = false;
    int epochs = 30;
    uint64_t seed = 42;
    int views = 8;
    int threads = 0;
    bool no_replay = false;
    int64_t date = 0;
    int max_photos = 500;
    int max_new_classes = 8;
    std::vector<std::string> dirs;
};

struct session_deleter {
    void operator()(folia_teach_session *s) const { folia_teach_free(s); }
};

bool is_photo(const fs::path &p) {
    std::string ext = p.extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    return ext == ".jpg" || ext == ".jpeg" || ext == ".png";
}

// The class name of a folder: its base name, ignoring trailing slashes ("a/Mango/" -> "Mango").
std::string label_of(const std::string &dir) {
    fs::path p = fs::path(dir).lexically_normal();
    if (p.filename().empty()) p = p.parent_path();
    return p.filename().string();
}

// Photos of DIR in name order (so the same folders always teach in the same order).
bool list_photos(const std::string &dir, std::vector<std::string> *out, std::string *error) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) {
        *error = dir + ": not a folder";
        return false;
    }
    for (const auto &e : fs::directory_iterator(dir, ec))
        if (e.is_regular_file(ec) && is_photo(e.path())) out->push_back(e.path().string());
    if (ec) {
        *error = dir + ": " + ec.message();
        return false;
    }
    std::sort(out->begin(), out->end());
    if (out->empty()) *error = dir + ": no JPEG or PNG photos";
    return !out->empty();
}

// Progress on stderr: a redrawn bar on a terminal, nothing in a log until the final line.
struct progress_state {
    bool tty = false;
    std::chrono::steady_clock::time_point start, last;
};

int draw_progress(float fraction, float loss, void *user) {
    auto *p = static_cast<progress_state *>(user);
    const auto now = std::chrono::steady_clock::now();
    if (!p->tty || (fraction < 1.0f && now - p->last < std::chrono::milliseconds(100))) return 0;
    p->last = now;
    constexpr int width = 24;
    std::string bar(size_t(fraction * width + 0.5f), '#');
    bar.resize(width, '.');
    std::fprintf(stderr, "\r\033[Kteach [%s] %3.0f%% loss %.3f", bar.c_str(), 100.0 * fraction,
                 double(loss));
    std::fflush(stderr);
    return 0;
}

// Adds every photo of every folder; returns how many were refused (each reported on stderr).
int add_folders(folia_teach_session *s, const teach_options &o) {
    int refused = 0;
    for (const std::string &dir : o.dirs) {
        std::vector<std::string> files;
        std::string error;
        if (!list_photos(dir, &files, &error)) {
            std::fprintf(stderr, "folia: %s\n", error.c_str());
            ++refused;
            continue;
        }
        const std::string label = label_of(dir);
        for (const std::string &file : files) {
            std::vector<uint8_t> bytes;
            if (!read_file(file, &bytes, &error)) {
                std::fprintf(stderr, "folia: %s\n", error.c_str());
                ++refused;
                continue;
            }
            const folia_status st =
                folia_teach_add_image(s, label.c_str(), nullptr, bytes.data(), bytes.size());
            if (st != FOLIA_OK) {
                std::fprintf(stderr, "folia: %s: %s%s\n", file.c_str(), folia_status_message(st),
                             st == FOLIA_ERR_TEACH_LABEL ? (" ('" + label + "')").c_str() : "");
                ++refused;
            }
        }
    }
    return refused;
}

int run_teach(const teach_options &o) {
    folia_params params = folia_default_params();
    params.num_threads = resolve_threads(o.threads);
    context_ptr ctx;
    std::string error;
    if (load_engine(resolve_model_path(o.model), params, &ctx, &error) != FOLIA_OK)
        return refused("%s", error.c_str());
    folia_teach_params tp = folia_default_teach_params();
    tp.epochs = o.epochs;
    tp.seed = o.seed;
    tp.views_per_photo = o.views;
    tp.replay_exemplars = o.no_replay ? 0 : 1;
    tp.date_unix_s = o.date;
    tp.max_photos = o.max_photos;
    tp.max_new_classes = o.max_new_classes;
    folia_teach_session *raw = nullptr;
    folia_status st = folia_teach_begin(ctx.get(), &tp, &raw);
    std::unique_ptr<folia_teach_session, session_deleter> s(raw);
    if (st != FOLIA_OK) return refused("teach: %s", folia_status_message(st));
    if (add_folders(s.get(), o) > 0) return k_exit_refused;
    progress_state prog{::isatty(2) != 0, std::chrono::steady_clock::now(), {}};
    st = folia_teach_run(s.get(), draw_progress, &prog);
    if (prog.tty) std::fputs("\n", stderr);
    if (st != FOLIA_OK) return refused("teach: %s", folia_status_message(st));
    uint8_t *bytes = nullptr;
    size_t size = 0;
    st = folia_teach_result(s.get(), &bytes, &size);
    if (st != FOLIA_OK) return refused("teach: %s", folia_status_message(st));
    const bool written = write_file_atomic(o.out, bytes, size, &error);
    folia_buffer_free(bytes);
    if (!written) return refused("%s", error.c_str());
    const auto summary = nlohmann::ordered_json::parse(folia_teach_summary_json(s.get()));
    if (o.json) {
        std::printf("%s\n", summary.dump().c_str());
    } else {
        std::printf("taught %d photos (%d new classes) in %.1f s: %d classes, written to %s\n",
                    summary.value("examples", 0),
                    int(summary.value("new_classes", nlohmann::ordered_json::array()).size()),
                    summary.value("ms", 0.0) / 1000.0, summary.value("classes", 0), o.out.c_str());
    }
    return k_exit_ok;
}

}  // namespace

command add_teach_command(CLI::App &app) {
    auto o = std::make_shared<teach_options>();
    CLI::App *sub = app.add_subcommand(
        "teach", "Fine-tune the model's head on photos in class folders (DIR name = label)");
    add_model_option(sub, &o->model,
                     "Model to start from (default: $FOLIA_MODEL, else the shipped model)");
    add_output_option(sub, &o->out, "Taught model file to write");
    sub->add_flag("--json", o->json, "Print the summary as one JSON line");
    sub->add_option("--epochs", o->epochs, "Training epochs (default 30)")
        ->check(CLI::Range(1, 1000));
    sub->add_option("--seed", o->seed, "Seed of augmentation, batches and dropout (default 42)");
    sub->add_option("--views", o->views,
                    "Augmented views per photo, view 0 unaugmented (default 8)")
        ->check(CLI::Range(1, 64));
    add_threads_option(sub, &o->threads, "Engine threads (0: one per core)");
    sub->add_flag("--no-replay", o->no_replay, "Do not replay the model file's exemplars");
    sub->add_option("--date", o->date,
                    "meta.date as seconds since 1970 UTC (default: now); fixes the output bytes")
        ->check(CLI::NonNegativeNumber);
    sub->add_option("--max-photos", o->max_photos, "Most photos in one session (default 500)")
        ->check(CLI::Range(1, 100000));
    sub->add_option("--max-new-classes", o->max_new_classes,
                    "Most new classes in one session (default 8)")
        ->check(CLI::Range(0, 4096));
    sub->add_option("dirs", o->dirs, "Folders of photos, one per class")->required();
    return {sub, [o] { return run_teach(*o); }};
}

}  // namespace folia_cli
