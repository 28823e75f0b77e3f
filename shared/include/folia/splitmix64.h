// splitmix64.h: the one deterministic integer RNG of the core (augmentation, on-device teaching)
// and its tests. Integers only, so the same seed gives the same numbers natively and in wasm.
#pragma once

#include <cstdint>

namespace folia {

struct splitmix64 {
    uint64_t s;
    uint64_t next() {
        uint64_t z = (s += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        return z ^ (z >> 31);
    }
    // Uniform in [0, 1) with 24 bits, exact in f32.
    float uniform() { return float(next() >> 40) * (1.0f / 16777216.0f); }
    // Uniform in (0, 1]: safe for log.
    float uniform_open0() { return float((next() >> 40) + 1) * (1.0f / 16777216.0f); }
    // Uniform integer in [0, n), n > 0 (modulo bias below 2^-32 for the sizes used here).
    uint32_t below(uint32_t n) { return uint32_t((next() >> 32) % n); }
};

}  // namespace folia
