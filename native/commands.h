// commands.h: each `folia` subcommand registers its options on the CLI11 app and returns the
// function main() calls when that subcommand was chosen. The function returns the exit code:
// 0 success, 1 refused input or failed work, 2 usage error.
#pragma once

#include <functional>

namespace CLI {
class App;
}

namespace folia_cli {

inline constexpr int k_exit_ok = 0;
inline constexpr int k_exit_refused = 1;
inline constexpr int k_exit_usage = 2;

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
