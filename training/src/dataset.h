// dataset.h: a folder of <class>/<image> files, its labels, and the photographed-leaf groups.
// No LibTorch here: the SSL and incremental tools, the split and the tests use it as plain C++.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace folia::train {

struct sample {
    std::string rel_path;  // "<class>/<file>", '/'-separated, relative to the data root
    int label = -1;        // index into dataset::classes
    std::string group;     // photographed-leaf group (see scan_dataset); never empty
    uint64_t bytes = 0;    // file size, part of the image cache key
};

struct dataset {
    std::string root;
    std::vector<std::string> classes;  // class folder names, sorted (byte order): label = index
    std::vector<sample> samples;       // sorted by rel_path
    std::vector<int> class_counts() const;
};

// Scans root/<class>/*.{jpg,jpeg,png} (case-insensitive extensions; hidden files and folders
// without images are skipped). Labels are the sorted class folder names that hold images.
// If root/MANIFEST.tsv exists (columns relative_path, pv_photo_code, pv_photo_number), samples
// of the same class and photo code whose photo numbers chain within +-leaf_gap of each other form
// one group ("leaf:<class>|<code>:<first number>"): PlantVillage photographed each leaf several
// times with consecutive numbers, so such images must never straddle a split. Every other file is
// its own group ("file:<rel_path>"). Throws std::runtime_error with a clear message on a missing or
// empty folder.
dataset scan_dataset(const std::string &root, int leaf_gap = 4);

// A slice for quick runs and tests: the first max_classes classes (0 = all) and, of each, the
// first per_class samples in rel_path order (0 = all). Labels are renumbered densely.
dataset subset_dataset(const dataset &d, int max_classes, int per_class);

// The data root from --data or, if empty, $FOLIA_DATA; throws if neither is set.
std::string resolve_data_root(const std::string &flag);

}  // namespace folia::train
