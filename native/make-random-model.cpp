// make-random-model.cpp: `folia-make-random-model -o OUT [--classes N] [--labels CLASSES.txt]
// [--seed S] [--channels 4,8 --hidden 8 --input-size 16]`: a He-initialised model file, the
// stand-in for trained weights in tests and benchmarks. Same seed, same bytes.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <string>
#include <vector>

#include "file-io.h"
#include "folia/model-file.h"
#include "random-model.h"

int main(int argc, char **argv) {
    using namespace folia_cli;
    random_model_options ro;
    std::string out, labels_path;
    int classes = 0;
    CLI::App app{"Write a He-initialised (random) Folia model file."};
    app.add_option("-o,--output", out, "Model file to write (atomically)")->required();
    app.add_option("--classes,-n", classes,
                   "Number of classes (default: the --labels count, else 38)")
        ->check(CLI::Range(1, 100000));
    app.add_option("--labels", labels_path, "Text file with one label per line (e.g. CLASSES.txt)")
        ->check(CLI::ExistingFile);
    app.add_option("--seed", ro.seed, "Random seed");
    app.add_flag("--random-bn", ro.random_bn, "Draw non-trivial BatchNorm statistics");
    app.add_option("--temperature", ro.temperature, "Calibration temperature")
        ->check(CLI::PositiveNumber);
    app.add_option("--abstain-threshold", ro.abstain_threshold,
                   "Calibrated p below which `diagnose` reports sure=false")
        ->check(CLI::Range(0.0, 1.0));
    app.add_option("--channels", ro.channels,
                   "Conv block widths, e.g. 4,8 (default: the shipped 32,64,128,256)")
        ->delimiter(',')
        ->check(CLI::Range(1, 4096));
    app.add_option("--hidden", ro.hidden, "FC hidden width (default 256)")
        ->check(CLI::Range(1, 4096));
    app.add_option("--input-size", ro.input_size, "Model input size S (default 128)")
        ->check(CLI::Range(8, 1024));
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp &e) {
        return app.exit(e);
    } catch (const CLI::ParseError &e) {
        app.exit(e);
        return 2;
    }

    std::string error;
    if (!labels_path.empty()) {
        if (!read_lines(labels_path, &ro.labels, &error)) {
            std::fprintf(stderr, "folia-make-random-model: %s\n", error.c_str());
            return 1;
        }
        if (ro.labels.empty()) {
            std::fprintf(stderr, "folia-make-random-model: %s: no labels\n", labels_path.c_str());
            return 1;
        }
        if (classes != 0 && classes != int(ro.labels.size())) {
            std::fprintf(stderr, "folia-make-random-model: --classes %d but %s has %zu labels\n",
                         classes, labels_path.c_str(), ro.labels.size());
            return 2;
        }
        ro.num_classes = int(ro.labels.size());
    } else {
        ro.num_classes = classes != 0 ? classes : 38;
    }

    const folia::model_file m = make_random_model(ro);
    std::vector<uint8_t> bytes;
    if (folia::write_model_file(m, &bytes, &error) != FOLIA_OK) {
        std::fprintf(stderr, "folia-make-random-model: %s\n", error.c_str());
        return 1;
    }
    if (!write_file_atomic(out, bytes.data(), bytes.size(), &error)) {
        std::fprintf(stderr, "folia-make-random-model: %s\n", error.c_str());
        return 1;
    }
    std::printf("wrote %s: %d classes, seed %llu, %zu bytes\n", out.c_str(), ro.num_classes,
                static_cast<unsigned long long>(ro.seed), bytes.size());
    return 0;
}
