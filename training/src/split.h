// split.h: the data split, stratified by class and grouped by photographed leaf.
//   test 10 %, val 10 %, the remaining 80 % into labeled 20 % and unlabeled stream 80 %.
// Whole leaf groups go to one part, so no leaf is seen on two sides. Deterministic from the
// seed (own RNG, not std::shuffle, so every standard library gives the same split).
// No LibTorch here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "dataset.h"

namespace folia::train {

enum class part : uint8_t { labeled = 0, stream = 1, val = 2, test = 3 };
const char *part_name(part p);
part parse_part(const std::string &name);  // throws on an unknown name

struct split_params {
    uint64_t seed = 42;
    double test_frac = 0.10;
    double val_frac = 0.10;
    double labeled_frac = 0.20;  // of what is left after test and val
};

struct data_split {
    split_params params;
    std::vector<part> parts;  // parallel to dataset::samples
    // Indices of the samples in any of the given parts, in dataset order.
    std::vector<int> indices(std::initializer_list<part> which) const;
};

data_split make_split(const dataset &d, const split_params &params);

// JSON: {"format": "folia-split-1", "seed", "fractions", "counts": {part: n},
//        "files": {"<rel_path>": "<part>", ...}}.
std::string split_to_json(const data_split &s, const dataset &d);
// Maps the JSON back onto d. Throws if a file of d is missing from it (the split belongs to
// another dataset: make a new one) or the JSON is malformed.
data_split split_from_json(const std::string &json_text, const dataset &d);

// Reads the split at path if it exists, else makes one and writes it (atomically).
data_split load_or_make_split(const std::string &path, const dataset &d, const split_params &p,
                              bool *created = nullptr);

// Name of an enum value whose values are 0, 1, ... in the order of names; "?" out of range.
template <class E, size_t N>
const char *enum_name(E v, const char *const (&names)[N]) {
    const size_t i = size_t(v);
    return i < N ? names[i] : "?";
}

// Small deterministic RNG (splitmix64) shared by the split and the samplers.
struct splitmix64 {
    uint64_t state;
    explicit splitmix64(uint64_t seed) : state(seed) {}
    uint64_t next();
    double uniform();            // [0, 1)
    uint64_t below(uint64_t n);  // [0, n)
};
// One seed from two (a run seed and a counter): the first splitmix64 output of a ^ (b * golden).
uint64_t mix_seeds(uint64_t a, uint64_t b);
uint64_t hash_string(const std::string &s, uint64_t h = 1469598103934665603ull);  // FNV-1a

}  // namespace folia::train
