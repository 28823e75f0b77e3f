// test-support.h: the plumbing every test that drives the real programs (folia-train, folia)
// needs: the data folder, scratch folders, child processes with a log file and a time limit,
// small file reads. It includes neither LibTorch nor Catch2, so where it stands among a test's
// includes does not matter (only Catch2 must come last, after `#undef CHECK`: glog's CHECK).
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace folia_test {

// $FOLIA_DATA (the PlantVillage folder), or "" when it is unset: callers FAIL saying so.
std::string data_root();

// An empty folder <temp>/folia-<name> (removed first if a previous run left it). It stays after
// the test on purpose: the logs of a failed training run are read there.
std::filesystem::path fresh_dir(const std::string &name);

// A whole file as text; "" when it cannot be read (a missing log must not hide the failure).
std::string read_text(const std::filesystem::path &path);

// Every file below dir (recursively) whose name holds ".tmp": what an interrupted atomic write
// leaves behind.
std::vector<std::string> temp_files(const std::filesystem::path &dir);

// A child's environment: ours without the entries that start with one of drop_prefixes or name a
// variable env_set sets, then env_set ("NAME=value"). A prefix "NAME=" drops exactly NAME.
std::vector<std::string> child_env(const std::vector<std::string> &env_set,
                                   const std::vector<std::string> &drop_prefixes = {});

// Starts argv (argv[0] a path, no shell) with env, stdout and stderr appended to log (created
// when absent). Returns the child's pid; throws when fork fails.
pid_t start(const std::vector<std::string> &argv, const std::vector<std::string> &env,
            const std::string &log);
// The same for a shell command line (`sh -c 'exec CMD'`, so the pid is CMD's own) with our
// environment: for tests that build their command lines with quoting and redirections.
pid_t start_shell(const std::string &cmd, const std::string &log);

// Waits up to limit_s seconds (< 0: for ever) for our child pid; returns its wait status, or -1
// while it still runs. took_s, when given, gets the seconds waited.
int wait_for(pid_t pid, double limit_s, double *took_s = nullptr);

// Polls ready() every poll_ms until it is true (returns true) or limit_s has passed (false).
bool wait_until(const std::function<bool()> &ready, double limit_s, int poll_ms = 100);

struct outcome {
    bool killed = false;  // ended by SIGKILL
    int exit_code = -1;   // when it exited
    double seconds = 0;   // from start to end
};

// Runs argv to its end (see start), SIGKILLing it after kill_after_s seconds (< 0: never).
outcome run_logged(const std::vector<std::string> &argv, const std::vector<std::string> &env,
                   const std::string &log, double kill_after_s = -1);
// Runs a shell command line (see start_shell) to its end: its exit code, 128 + the signal that
// ended it otherwise.
int run_shell(const std::string &cmd, const std::string &log);

}  // namespace folia_test
