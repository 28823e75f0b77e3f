// fuzz-check.h: the one assertion of the fuzz targets. A broken invariant is a finding like a
// crash: print what broke and abort, so libFuzzer saves the input as crash-<sha1>.
#pragma once

#include <cstdio>
#include <cstdlib>

#define FOLIA_FUZZ_CHECK(cond)                                                                \
    do {                                                                                      \
        if (!(cond)) {                                                                        \
            std::fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond); \
            std::abort();                                                                     \
        }                                                                                     \
    } while (0)
