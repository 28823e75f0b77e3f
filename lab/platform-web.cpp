// platform-web.cpp: lab/platform.h for WebAssembly (Emscripten, WebGL2). The browser owns the
// main loop (emscripten_set_main_loop), files live in MEMFS (the page writes the model and
// photos there before main() runs, or later through wasm/lab/web-hooks.cpp), and there are no
// child processes. Threads exist only in the pthreads build (-pthread, crossOriginIsolated page).
#include "platform.h"

#include <dirent.h>
#include <emscripten.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>

namespace folia_lab {

namespace {
bool (*g_step)() = nullptr;

void web_frame() {
    if (!g_step()) emscripten_cancel_main_loop();
}

bool has_image_suffix(const std::string &name) {
    std::string n = name;
    std::transform(n.begin(), n.end(), n.begin(), [](unsigned char c) { return std::tolower(c); });
    auto ends = [&](const char *s) {
        size_t k = std::strlen(s);
        return n.size() >= k && n.compare(n.size() - k, k, s) == 0;
    };
    return ends(".jpg") || ends(".jpeg") || ends(".png");
}

// Sorted entries of dir that are folders (want_dirs) or files.
bool list_dir(const std::string &dir, bool want_dirs, std::vector<std::string> *out,
              std::string *error) {
    DIR *d = opendir(dir.c_str());
    if (!d) {
        if (error) *error = dir + ": " + std::strerror(errno);
        return false;
    }
    while (dirent *e = readdir(d)) {
        std::string name = e->d_name;
        if (name == "." || name == "..") continue;
        struct stat st {};
        if (stat((dir + "/" + name).c_str(), &st) != 0) continue;
        if (S_ISDIR(st.st_mode) == want_dirs) out->push_back(name);
    }
    closedir(d);
    std::sort(out->begin(), out->end());
    return true;
}
}  // namespace

void platform_run_main_loop(bool (*step)()) {
    g_step = step;
    // fps 0: the browser's requestAnimationFrame; simulate_infinite_loop: main() never returns,
    // so the state main() built stays alive for the frames.
    emscripten_set_main_loop(web_frame, 0, 1);
}

const char *platform_glsl_version() {
    return "#version 300 es";
}

bool platform_gl_es() {
    return true;
}

platform_caps platform_capabilities() {
    platform_caps caps;
#ifdef __EMSCRIPTEN_PTHREADS__
    caps.threads = true;
#endif
    caps.file_system = false;  // MEMFS holds only what the page gave: no photo folders
    caps.child_processes = false;
    caps.paces_frames = true;  // emscripten_set_main_loop(fps 0) = requestAnimationFrame
    return caps;
}

void platform_run_async(std::function<void()> job) {
#ifdef __EMSCRIPTEN_PTHREADS__
    std::thread(std::move(job)).detach();  // a worker of the preloaded pthread pool
#else
    job();
#endif
}

bool platform_read_file(const std::string &path, std::vector<uint8_t> *out, std::string *error) {
    FILE *f = std::fopen(path.c_str(), "rb");
    if (!f) {
        if (error) *error = path + ": " + std::strerror(errno);
        return false;
    }
    out->clear();
    uint8_t buf[1 << 16];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out->insert(out->end(), buf, buf + n);
    bool ok = !std::ferror(f);
    std::fclose(f);
    if (!ok && error) *error = path + ": read error";
    return ok;
}

bool platform_list_labelled_images(const std::string &dir, int max_per_label,
                                   std::vector<labelled_image> *out, std::string *error) {
    std::vector<std::string> labels;
    if (!list_dir(dir, true, &labels, error)) return false;
    for (const std::string &label : labels) {
        std::vector<std::string> files;
        if (!list_dir(dir + "/" + label, false, &files, error)) return false;
        int taken = 0;
        for (const std::string &f : files) {
            if (!has_image_suffix(f)) continue;
            if (max_per_label > 0 && taken == max_per_label) break;
            out->push_back({dir + "/" + label + "/" + f, label});
            ++taken;
        }
    }
    return true;
}

bool platform_write_file(const std::string &path, const void *data, size_t size,
                         std::string *error) {
    std::string tmp = path + ".tmp";
    FILE *f = std::fopen(tmp.c_str(), "wb");
    if (!f) {
        if (error) *error = tmp + ": " + std::strerror(errno);
        return false;
    }
    bool ok = std::fwrite(data, 1, size, f) == size;
    ok = (std::fclose(f) == 0) && ok;
    if (ok && std::rename(tmp.c_str(), path.c_str()) != 0) ok = false;
    if (!ok) {
        std::remove(tmp.c_str());
        if (error) *error = path + ": write failed";
    }
    return ok;
}

std::string platform_getenv(const char *name) {
    const char *v = std::getenv(name);
    return v ? v : "";
}

std::unique_ptr<child_process> platform_spawn(const std::vector<std::string> &argv,
                                              std::string *error) {
    if (error) {
        *error = "the browser cannot start " + (argv.empty() ? std::string("programs") : argv[0]);
    }
    return nullptr;
}

double platform_now_ms() {
    return emscripten_get_now();
}

}  // namespace folia_lab
