// commands.h: each `folia` subcommand registers its options on the CLI11 app and returns the
// function main() calls when that subcommand was chosen. The function returns the exit code:
// 0 success, 1 refused input or failed work, 2 usage error.
#pragma once

#include <cstdarg>
#include <cstdio>
#include <functional>
#include <string>

namespace CLI {
class App;
}

namespace folia_cli {

inline constexpr int k_exit_ok = 0;
inline constexpr int k_exit_refused = 1;
inline constexpr int k_exit_usage = 2;

// Prints "folia: " and the printf-style message on stderr; returns k_exit_refused.
[[gnu::format(printf, 1, 2)]] inline int refused(const char *format, ...) {
    std::fputs("folia: ", stderr);
    va_list args;
    va_start(args, format);
    std::vfprintf(stderr, format, args);
    va_end(args);
    std::fputc('\n', stderr);
    return k_exit_refused;
}

// The options several subcommands share (defined in main.cpp, which includes CLI11):
// --model/-m and --threads/-t (diagnose, bench, teach), the required -o/--output (preprocess,
// teach).
void add_model_option(CLI::App *sub, std::string *model, const std::string &help);
void add_output_option(CLI::App *sub, std::string *out, const std::string &help);
void add_threads_option(CLI::App *sub, int *threads, const std::string &help);

struct command {
    CLI::App *sub = nullptr;   // the registered subcommand (sub->parsed() after parsing)
    std::function<int()> run;  // runs it with the parsed options; returns the exit code
};

command add_diagnose_command(CLI::App &app);
command add_preprocess_command(CLI::App &app);
command add_inspect_command(CLI::App &app);
command add_bench_command(CLI::App &app);
command add_teach_command(CLI::App &app);

}  // namespace folia_cli
