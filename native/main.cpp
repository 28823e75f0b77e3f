// main.cpp: `folia`, the native command line. Subcommands live in cmd-*.cpp.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>
#include <vector>

#include "commands.h"

namespace folia_cli {

void add_model_option(CLI::App *sub, std::string *model, const std::string &help) {
    sub->add_option("--model,-m", *model, help);
}

void add_output_option(CLI::App *sub, std::string *out, const std::string &help) {
    sub->add_option("-o,--output", *out, help)->required();
}

void add_threads_option(CLI::App *sub, int *threads, const std::string &help) {
    sub->add_option("--threads,-t", *threads, help)->check(CLI::NonNegativeNumber);
}

}  // namespace folia_cli

int main(int argc, char **argv) {
    using namespace folia_cli;
    CLI::App app{"Folia: plant disease diagnosis from leaf photos, offline."};
    app.require_subcommand(1);
    app.set_version_flag("--version", "folia 0.1.0");

    const std::vector<command> commands = {add_diagnose_command(app), add_preprocess_command(app),
                                           add_inspect_command(app), add_bench_command(app),
                                           add_teach_command(app)};

    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp &e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp &e) {
        return app.exit(e);
    } catch (const CLI::CallForVersion &e) {
        return app.exit(e);
    } catch (const CLI::ParseError &e) {
        app.exit(e);  // prints the message and the usage line on stderr
        return k_exit_usage;
    }
    try {
        for (const command &c : commands)
            if (c.sub->parsed()) return c.run();
    } catch (const std::exception &e) {
        std::fprintf(stderr, "folia: %s\n", e.what());
        return k_exit_refused;
    }
    return k_exit_usage;
}
