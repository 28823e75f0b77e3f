// test-support.cpp
#include "test-support.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char **environ;

namespace folia_test {

namespace fs = std::filesystem;

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

std::string data_root() {
    const char *d = std::getenv("FOLIA_DATA");
    return d && *d ? d : "";
}

fs::path fresh_dir(const std::string &name) {
    const fs::path p = fs::temp_directory_path() / ("folia-" + name);
    fs::remove_all(p);
    fs::create_directories(p);
    return p;
}

std::string read_text(const fs::path &path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::vector<std::string> temp_files(const fs::path &dir) {
    std::vector<std::string> r;
    for (const auto &e : fs::recursive_directory_iterator(dir))
        if (e.path().filename().string().find(".tmp") != std::string::npos)
            r.push_back(e.path().string());
    return r;
}

std::vector<std::string> child_env(const std::vector<std::string> &env_set,
                                   const std::vector<std::string> &drop_prefixes) {
    std::vector<std::string> env;
    for (char **e = environ; *e; ++e) {
        const std::string kv = *e;
        const std::string name = kv.substr(0, kv.find('='));
        bool drop = false;
        for (const std::string &p : drop_prefixes) drop |= kv.rfind(p, 0) == 0;
        for (const std::string &s : env_set) drop |= s.substr(0, s.find('=')) == name;
        if (!drop) env.push_back(kv);
    }
    env.insert(env.end(), env_set.begin(), env_set.end());
    return env;
}

pid_t start(const std::vector<std::string> &argv, const std::vector<std::string> &env,
            const std::string &log) {
    std::vector<char *> a, e;
    for (const auto &s : argv) a.push_back(const_cast<char *>(s.c_str()));
    for (const auto &s : env) e.push_back(const_cast<char *>(s.c_str()));
    a.push_back(nullptr);
    e.push_back(nullptr);
    std::fflush(nullptr);  // or the child's exit would write our buffered output again
    const pid_t pid = ::fork();
    if (pid < 0) throw std::runtime_error("fork failed");
    if (pid == 0) {
        const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd < 0) ::_exit(126);
        ::dup2(fd, 1);
        ::dup2(fd, 2);
        ::close(fd);
        ::execve(a[0], a.data(), e.data());
        ::_exit(127);
    }
    return pid;
}

pid_t start_shell(const std::string &cmd, const std::string &log) {
    return start({"/bin/sh", "-c", "exec " + cmd}, child_env({}), log);
}

int wait_for(pid_t pid, double limit_s, double *took_s) {
    const auto t0 = std::chrono::steady_clock::now();
    int status = 0;
    for (;;) {
        // Polled (2 ms) rather than blocking when there is a limit: a kill lands on time.
        const pid_t r = ::waitpid(pid, &status, limit_s >= 0 ? WNOHANG : 0);
        if (r == pid) break;
        if (r < 0 && errno != EINTR) throw std::runtime_error("waitpid failed");
        if (limit_s >= 0 && seconds_since(t0) > limit_s) return -1;
        if (limit_s >= 0) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    if (took_s) *took_s = seconds_since(t0);
    return status;
}

bool wait_until(const std::function<bool()> &ready, double limit_s, int poll_ms) {
    const auto t0 = std::chrono::steady_clock::now();
    while (seconds_since(t0) < limit_s) {
        if (ready()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(poll_ms));
    }
    return false;
}

outcome run_logged(const std::vector<std::string> &argv, const std::vector<std::string> &env,
                   const std::string &log, double kill_after_s) {
    const auto t0 = std::chrono::steady_clock::now();
    const pid_t pid = start(argv, env, log);
    int status = wait_for(pid, kill_after_s);
    if (status == -1) {
        ::kill(pid, SIGKILL);
        status = wait_for(pid, -1);
    }
    outcome o;
    o.seconds = seconds_since(t0);
    o.killed = WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
    o.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return o;
}

int run_shell(const std::string &cmd, const std::string &log) {
    const int status = wait_for(start_shell(cmd, log), -1);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace folia_test
