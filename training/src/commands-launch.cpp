// commands-launch.cpp: folia-train launch (no LibTorch): starts N local ranks of a data-parallel
// command as child processes of this executable, prefixes their output, fails fast.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "commands.h"

namespace folia::train {

namespace {

volatile std::sig_atomic_t g_stop_signal = 0;

void on_stop_signal(int sig) {
    g_stop_signal = sig;
}

}  // namespace

int free_local_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) throw std::runtime_error("launch: cannot open a socket to pick a port");
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    socklen_t len = sizeof a;
    const bool ok = ::bind(fd, reinterpret_cast<sockaddr *>(&a), sizeof a) == 0 &&
                    ::getsockname(fd, reinterpret_cast<sockaddr *>(&a), &len) == 0;
    ::close(fd);
    if (!ok) throw std::runtime_error("launch: cannot pick a free port");
    return ntohs(a.sin_port);
}

namespace {

struct child {
    int rank = 0;
    pid_t pid = -1;
    int fd[2] = {-1, -1};  // stdout, stderr pipes (read ends)
    std::string pending[2];
    bool running = true;
};

// Writes every complete line of buf as "[rank R] line" to out; keeps the rest (or all of it,
// when flushing at the end).
void forward_lines(std::string &buf, int rank, FILE *out, bool flush_all) {
    size_t start = 0;
    for (size_t nl; (nl = buf.find('\n', start)) != std::string::npos; start = nl + 1)
        std::fprintf(out, "[rank %d] %.*s\n", rank, int(nl - start), buf.data() + start);
    buf.erase(0, start);
    if (flush_all && !buf.empty()) {
        std::fprintf(out, "[rank %d] %s\n", rank, buf.c_str());
        buf.clear();
    }
    std::fflush(out);
}

child spawn_rank(const std::vector<std::string> &argv, int rank, int world, const std::string &host,
                 const std::string &port, int threads) {
    int out[2], err[2];
    // Close-on-exec: a later rank must not inherit the read ends of the earlier ranks' pipes (if
    // launch died, those ranks would block on a full pipe instead of getting SIGPIPE). dup2()
    // onto 1 and 2 clears the flag on the child's own copies.
    if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0)
        throw std::runtime_error("launch: pipe2() failed");
    const pid_t pid = ::fork();
    if (pid < 0) throw std::runtime_error("launch: fork() failed");
    if (pid == 0) {
        ::dup2(out[1], 1);
        ::dup2(err[1], 2);
        ::close(out[0]);
        ::close(err[0]);
        ::setenv("MASTER_ADDR", host.c_str(), 1);
        ::setenv("MASTER_PORT", port.c_str(), 1);
        ::setenv("WORLD_SIZE", std::to_string(world).c_str(), 1);
        ::setenv("RANK", std::to_string(rank).c_str(), 1);
        ::setenv("OMP_NUM_THREADS", std::to_string(threads).c_str(), 1);
        std::vector<char *> a;
        for (const auto &s : argv) a.push_back(const_cast<char *>(s.c_str()));
        a.push_back(nullptr);
        ::execv(a[0], a.data());
        std::fprintf(stderr, "launch: cannot run %s: %s\n", a[0], std::strerror(errno));
        ::_exit(127);
    }
    ::close(out[1]);
    ::close(err[1]);
    child c;
    c.rank = rank;
    c.pid = pid;
    c.fd[0] = out[0];
    c.fd[1] = err[0];
    return c;
}

// Reads whatever the children wrote (up to timeout_ms of waiting) and forwards it.
void pump_output(std::vector<child> &kids, int timeout_ms) {
    std::vector<pollfd> fds;
    std::vector<std::pair<size_t, int>> who;
    for (size_t i = 0; i < kids.size(); ++i)
        for (int k = 0; k < 2; ++k)
            if (kids[i].fd[k] >= 0) {
                fds.push_back({kids[i].fd[k], POLLIN, 0});
                who.emplace_back(i, k);
            }
    if (fds.empty()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(timeout_ms));
        return;
    }
    if (::poll(fds.data(), fds.size(), timeout_ms) <= 0) return;
    char buf[4096];
    for (size_t j = 0; j < fds.size(); ++j) {
        if (!(fds[j].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        child &c = kids[who[j].first];
        const int k = who[j].second;
        const ssize_t n = ::read(c.fd[k], buf, sizeof buf);
        if (n > 0) {
            c.pending[k].append(buf, size_t(n));
            forward_lines(c.pending[k], c.rank, k == 0 ? stdout : stderr, false);
        } else {
            forward_lines(c.pending[k], c.rank, k == 0 ? stdout : stderr, true);
            ::close(c.fd[k]);
            c.fd[k] = -1;
        }
    }
}

std::string describe_status(int status) {
    if (WIFEXITED(status)) return "exited with code " + std::to_string(WEXITSTATUS(status));
    if (WIFSIGNALED(status))
        return std::string("was killed by signal ") + std::to_string(WTERMSIG(status)) + " (" +
               strsignal(WTERMSIG(status)) + ")";
    return "stopped";
}

// Gives the running children wait_s to exit by themselves (a rank that lost a peer names it
// within ~3 s), then SIGTERM, then SIGKILL after grace_s more; forwards their last output.
void stop_all(std::vector<child> &kids, double wait_s, double grace_s) {
    const auto t0 = std::chrono::steady_clock::now();
    bool termed = false, killed = false;
    for (;;) {
        pump_output(kids, 100);
        bool any = false;
        for (auto &c : kids) {
            if (c.running && ::waitpid(c.pid, nullptr, WNOHANG) == c.pid) c.running = false;
            any = any || c.running;
        }
        if (!any) break;
        const double t =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        if (!termed && t > wait_s) {
            for (auto &c : kids)
                if (c.running) ::kill(c.pid, SIGTERM);
            termed = true;
        }
        if (!killed && t > wait_s + grace_s) {
            for (auto &c : kids)
                if (c.running) ::kill(c.pid, SIGKILL);
            killed = true;
        }
    }
    for (int i = 0; i < 20; ++i) pump_output(kids, 10);
}

}  // namespace

int cmd_launch(const launch_options &o) {
    if (o.nproc < 1) throw std::runtime_error("launch: --nproc must be at least 1");
    if (o.nnodes < 1 || o.node_rank < 0 || o.node_rank >= o.nnodes)
        throw std::runtime_error("launch: --node-rank must be in [0, --nnodes)");
    if (o.nnodes > 1 && o.master.empty())
        throw std::runtime_error("launch: several machines need --master HOST:PORT (rank 0's)");
    if (o.command.empty()) throw std::runtime_error("launch: give the command after --");
    const std::string master =
        o.master.empty() ? "127.0.0.1:" + std::to_string(free_local_port()) : o.master;
    const auto [host, port] = parse_host_port(master);
    const int world = o.nproc * o.nnodes;
    const int cores = int(std::max(1u, std::thread::hardware_concurrency()));
    const int threads = std::max(1, cores / o.nproc);

    std::vector<std::string> argv = {std::filesystem::read_symlink("/proc/self/exe").string()};
    argv.insert(argv.end(), o.command.begin(), o.command.end());
    const bool has_threads = std::any_of(o.command.begin(), o.command.end(), [](const auto &a) {
        return a == "--threads" || a.rfind("--threads=", 0) == 0;
    });
    if (!has_threads) argv.insert(argv.end(), {"--threads", std::to_string(threads)});
    std::fprintf(stderr, "launch: ranks %d..%d of %d at %s, %s threads each\n",
                 o.node_rank * o.nproc, o.node_rank * o.nproc + o.nproc - 1, world, master.c_str(),
                 has_threads ? "the command's" : std::to_string(threads).c_str());

    std::signal(SIGINT, on_stop_signal);
    std::signal(SIGTERM, on_stop_signal);
    std::vector<child> kids;
    try {
        for (int i = 0; i < o.nproc; ++i)
            kids.push_back(spawn_rank(argv, o.node_rank * o.nproc + i, world, host,
                                      std::to_string(port), threads));
    } catch (...) {
        stop_all(kids, 0, 10);  // the ranks already started would wait at rendezvous
        throw;
    }
    for (;;) {
        pump_output(kids, 200);
        if (g_stop_signal) {
            std::fprintf(stderr, "launch: signal %d, stopping every rank\n", int(g_stop_signal));
            stop_all(kids, 0, 10);
            return 128 + int(g_stop_signal);
        }
        int running = 0;
        for (auto &c : kids) {
            int status = 0;
            if (!c.running || ::waitpid(c.pid, &status, WNOHANG) != c.pid) {
                running += c.running;
                continue;
            }
            c.running = false;
            if (WIFEXITED(status) && WEXITSTATUS(status) == 0) continue;
            for (int i = 0; i < 20; ++i) pump_output(kids, 10);
            std::fprintf(stderr, "launch: rank %d %s; stopping the other ranks\n", c.rank,
                         describe_status(status).c_str());
            stop_all(kids, 6, 10);
            return 1;
        }
        if (running == 0) break;
    }
    for (int i = 0; i < 20; ++i) pump_output(kids, 10);
    std::fprintf(stderr, "launch: all %d ranks finished\n", o.nproc);
    return 0;
}

}  // namespace folia::train
