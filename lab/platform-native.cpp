// platform-native.cpp: platform.h on Linux: a plain main loop, std::thread workers, the file
// system, and child processes through posix_spawn with a non-blocking stdout pipe.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include "lab-state.h"  // panel_def
#include "platform.h"

extern char **environ;

namespace folia_lab {

void platform_run_main_loop(bool (*step)()) {
    while (step()) {
    }
}

const char *platform_glsl_version() {
    return "#version 130";
}
bool platform_gl_es() {
    return false;
}

platform_caps platform_capabilities() {
    return {true, true, true};
}

std::vector<panel_def> platform_panels() {
    return {};
}

void platform_run_async(std::function<void()> job) {
    std::thread(std::move(job)).detach();
}

bool platform_read_file(const std::string &path, std::vector<uint8_t> *out, std::string *error) {
    std::ifstream f(path, std::ios::binary);
    if (!f) {
        *error = path + ": " + std::strerror(errno);
        return false;
    }
    out->assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
    if (f.bad()) {
        *error = path + ": read error";
        return false;
    }
    return true;
}

namespace {

bool is_photo(const std::filesystem::path &p) {
    std::string ext = p.extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    return ext == ".jpg" || ext == ".jpeg" || ext == ".png";
}

}  // namespace

bool platform_list_labelled_images(const std::string &dir, int max_per_label,
                                   std::vector<labelled_image> *out, std::string *error) {
    namespace fs = std::filesystem;
    std::error_code ec;
    std::vector<fs::path> labels;
    for (const auto &e : fs::directory_iterator(dir, ec))
        if (e.is_directory()) labels.push_back(e.path());
    if (ec) {
        *error = dir + ": " + ec.message();
        return false;
    }
    std::sort(labels.begin(), labels.end());
    out->clear();
    for (const fs::path &l : labels) {
        std::vector<fs::path> files;
        for (const auto &e : fs::directory_iterator(l, ec))
            if (e.is_regular_file() && is_photo(e.path())) files.push_back(e.path());
        std::sort(files.begin(), files.end());
        if (max_per_label > 0 && int(files.size()) > max_per_label)
            files.resize(size_t(max_per_label));
        for (const fs::path &f : files) out->push_back({f.string(), l.filename().string()});
    }
    if (out->empty()) {
        *error = dir + ": no <label>/<photo> JPEG or PNG files";
        return false;
    }
    return true;
}

bool platform_write_file(const std::string &path, const void *data, size_t size,
                         std::string *error) {
    const std::string tmp = path + ".tmp" + std::to_string(::getpid());
    {
        std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
        if (!f || !f.write(static_cast<const char *>(data), std::streamsize(size)) || !f.flush()) {
            *error = tmp + ": " + std::strerror(errno);
            std::remove(tmp.c_str());
            return false;
        }
    }
    if (std::rename(tmp.c_str(), path.c_str()) != 0) {
        *error = path + ": " + std::strerror(errno);
        std::remove(tmp.c_str());
        return false;
    }
    return true;
}

std::string platform_getenv(const char *name) {
    const char *v = std::getenv(name);
    return v ? v : "";
}

namespace {

class posix_child final : public child_process {
  public:
    posix_child(pid_t pid, int fd) : pid_(pid), fd_(fd) {}
    ~posix_child() override {
        if (!exited_) {
            ::kill(pid_, SIGTERM);
            int st = 0;
            ::waitpid(pid_, &st, 0);
        }
        if (fd_ >= 0) ::close(fd_);
    }
    void poll_lines(std::vector<std::string> *out) override {
        char buf[4096];
        while (fd_ >= 0) {
            const ssize_t n = ::read(fd_, buf, sizeof buf);
            if (n > 0) {
                pending_.append(buf, size_t(n));
                continue;
            }
            if (n == 0) {  // EOF: the child closed stdout (it exited)
                ::close(fd_);
                fd_ = -1;
            }
            break;  // EAGAIN: nothing more now
        }
        size_t start = 0, nl;
        while ((nl = pending_.find('\n', start)) != std::string::npos) {
            out->push_back(pending_.substr(start, nl - start));
            start = nl + 1;
        }
        pending_.erase(0, start);
        if (fd_ < 0 && !pending_.empty()) {
            out->push_back(pending_);
            pending_.clear();
        }
    }
    bool running() override {
        if (!exited_) {
            int st = 0;
            if (::waitpid(pid_, &st, WNOHANG) == pid_) {
                exited_ = true;
                status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
            }
        }
        return !exited_ || fd_ >= 0;
    }
    int exit_status() const override { return status_; }
    void terminate() override {
        if (!exited_) ::kill(pid_, SIGTERM);
    }

  private:
    pid_t pid_;
    int fd_;
    bool exited_ = false;
    int status_ = 0;
    std::string pending_;
};

}  // namespace

std::unique_ptr<child_process> platform_spawn(const std::vector<std::string> &argv,
                                              std::string *error) {
    if (argv.empty()) {
        *error = "no command";
        return nullptr;
    }
    int fds[2];
    if (::pipe(fds) != 0) {
        *error = std::string("pipe: ") + std::strerror(errno);
        return nullptr;
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    posix_spawn_file_actions_addclose(&fa, fds[0]);
    posix_spawn_file_actions_addclose(&fa, fds[1]);
    std::vector<char *> args;
    for (const std::string &a : argv) args.push_back(const_cast<char *>(a.c_str()));
    args.push_back(nullptr);
    pid_t pid = 0;
    const int rc = posix_spawn(&pid, argv[0].c_str(), &fa, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    ::close(fds[1]);
    if (rc != 0) {
        ::close(fds[0]);
        *error = argv[0] + ": " + std::strerror(rc);
        return nullptr;
    }
    ::fcntl(fds[0], F_SETFL, ::fcntl(fds[0], F_GETFL) | O_NONBLOCK);
    ::fcntl(fds[0], F_SETFD, FD_CLOEXEC);
    return std::make_unique<posix_child>(pid, fds[0]);
}

double platform_now_ms() {
    return std::chrono::duration<double, std::milli>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

}  // namespace folia_lab
