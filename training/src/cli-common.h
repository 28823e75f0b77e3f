// cli-common.h: what every training executable's main() shares (folia-train, folia-ssl,
// folia-incremental): the malloc tuning LibTorch training needs, and the data options.
#pragma once

#include <malloc.h>

#include <CLI/CLI.hpp>

#include "commands.h"

namespace folia::train {

// glibc malloc mmaps every block over 32 MB and unmaps it on free: LibTorch training then
// spends most of its time in page faults (~8x slower here). Keep big blocks on the heap and do
// not give memory back on every free. Call first in main(), before any tensor exists.
inline void tune_malloc_for_training() {
    mallopt(M_MMAP_MAX, 0);
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
}

inline void add_data_options(CLI::App *c, data_options &o) {
    c->add_option("--data", o.data,
                  "<class>/<image> folder, repeatable: several are merged (default $FOLIA_DATA)");
    c->add_option("--split", o.split,
                  "split JSON per --data folder (default training/splits/<folder>-seed<S>.json; "
                  "made if missing)");
    c->add_option("--split-seed", o.split_seed, "seed for a new split");
    c->add_option("--test-frac", o.test_frac, "test share of a new split");
    c->add_option("--val-frac", o.val_frac, "validation share of a new split");
    c->add_option("--labeled-frac", o.labeled_frac,
                  "labeled share of the rest of a new split (the others: stream)");
    c->add_option("--cache-dir", o.cache_dir, "where preprocessed image caches live (build tree)");
    c->add_option("--size", o.size, "input size S (the shipped model: 128)");
    c->add_option("--max-classes", o.max_classes, "use only the first N classes (smoke runs)");
    c->add_option("--per-class", o.per_class, "use only the first N images of each class");
    c->add_option("--threads", o.threads, "CPU threads (LibTorch and preprocessing)");
}

}  // namespace folia::train
