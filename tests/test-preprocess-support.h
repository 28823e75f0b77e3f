// test-preprocess-support.h: file access for the preprocessing tests. The core never reads
// files; the tests do, with plain stdio, so the same code runs natively and in wasm under node
// (where the build folder is mounted at the same path).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace folia_test {

// One line of <ref>/manifest.tsv (written by tools/pillow-resize-ref.py).
struct ref_case {
    std::string kind, name, input, expected;
    int out_w = 0, out_h = 0;
    std::string extra;
};

struct ref_manifest {
    std::string dir;       // folder holding manifest.tsv
    std::string data_dir;  // $FOLIA_DATA the data cases came from, empty when unset
    int data_count = 0;
    std::string pillow_version;
    std::vector<ref_case> cases;
    std::vector<ref_case> of_kind(const std::string &kind) const;
    const ref_case *find(const std::string &kind, const std::string &name) const;
};

// $FOLIA_PREPROCESS_REF, else $FOLIA_BINARY_DIR/preprocess-ref, else the build folder's
// preprocess-ref compiled in by tests/preprocess.cmake.
std::string ref_dir();
// Loads the manifest; on failure returns false with a reason in *why.
bool load_manifest(ref_manifest *m, std::string *why);

bool read_file(const std::string &path, std::vector<uint8_t> *out);
std::vector<int> split_ints(const std::string &s);  // "40,24,3" -> {40, 24, 3}

}  // namespace folia_test
