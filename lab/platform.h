// platform.h: what the lab needs from the machine it runs on, behind one small interface so the
// same main.cpp and panels compile natively (lab/platform-native.cpp: POSIX processes, threads,
// files) and to WebAssembly (lab/platform-web.cpp: Emscripten main loop, MEMFS, no processes).
// Everything here is called from the UI thread unless stated otherwise.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace folia_lab {

// ---- main loop ---------------------------------------------------------------------------
// step() renders one frame and returns false when the program should end. Native: a while
// loop; web: emscripten_set_main_loop (never returns to main()). Returns when step() said stop.
void platform_run_main_loop(bool (*step)());
// "#version 130" natively (GL 3.0), "#version 300 es" on the web (WebGL2); main.cpp sets the
// SDL GL attributes from platform_gl_es().
const char *platform_glsl_version();
bool platform_gl_es();

// ---- capabilities --------------------------------------------------------------------------
struct platform_caps {
    bool child_processes = false;  // Train panel: spawn the training tools
    bool threads = false;          // Evaluate/Bench/Compare on a worker thread
    bool file_system = false;      // folders of photos (Evaluate, Compare) and file paths
    bool paces_frames = false;     // the browser paces frames (requestAnimationFrame): no delay
};
platform_caps platform_capabilities();

// ---- work off the UI thread -----------------------------------------------------------------
// Runs job on a worker thread (detached; the job must publish its results through state it
// owns, e.g. a mutex-guarded struct, and must not touch ImGui). Without threads (web single-
// thread build) the job runs right away on the calling thread.
void platform_run_async(std::function<void()> job);

// ---- files ---------------------------------------------------------------------------------
// Reads a whole file (native: the file system; web: MEMFS, where dropped files land).
// On failure returns false and sets error to "PATH: reason".
bool platform_read_file(const std::string &path, std::vector<uint8_t> *out, std::string *error);
// JPEG/PNG files directly inside dir, sorted by name. A dir whose subfolders are classes
// (PlantVillage layout: dir/<label>/<photo>) is listed by platform_list_labelled_images.
struct labelled_image {
    std::string path;
    std::string label;  // the subfolder's name
};
// Photos of dir/<label>/* for every subfolder, sorted by label then name; at most
// max_per_label per label (0: all). Returns false with error set when dir cannot be read.
bool platform_list_labelled_images(const std::string &dir, int max_per_label,
                                   std::vector<labelled_image> *out, std::string *error);
// Writes bytes to path atomically (temp + rename). Web: MEMFS.
bool platform_write_file(const std::string &path, const void *data, size_t size,
                         std::string *error);
// $NAME or "" when unset.
std::string platform_getenv(const char *name);

// ---- child processes (the Train panel) -----------------------------------------------------
// A child process whose stdout is read line by line without blocking; stderr goes to the
// lab's stderr. The web build returns nullptr from platform_spawn (caps.child_processes false).
class child_process {
  public:
    virtual ~child_process() = default;
    // Appends the complete stdout lines that arrived since the last call (without '\n').
    virtual void poll_lines(std::vector<std::string> *out) = 0;
    // True until the process has exited and all its output was read.
    virtual bool running() = 0;
    // Exit status once !running(): the exit code, or 128 + signal number.
    virtual int exit_status() const = 0;
    // Asks the process to stop (SIGTERM); it may still print lines before it exits.
    virtual void terminate() = 0;
};
// argv[0] is a path to the executable. On failure returns nullptr and sets error.
std::unique_ptr<child_process> platform_spawn(const std::vector<std::string> &argv,
                                              std::string *error);

// Milliseconds on a monotonic clock.
double platform_now_ms();

}  // namespace folia_lab
