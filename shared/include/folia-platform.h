// folia-platform.h: the one header that knows about platforms. Everything else in the core is
// platform-neutral; CMake decides which targets exist.
#ifndef FOLIA_PLATFORM_H
#define FOLIA_PLATFORM_H

#if defined(__EMSCRIPTEN__)
#include <emscripten/emscripten.h>
#define FOLIA_API EMSCRIPTEN_KEEPALIVE
#define FOLIA_PLATFORM_WASM 1
#elif defined(_WIN32)
#define FOLIA_API
#define FOLIA_PLATFORM_WASM 0
#else
#define FOLIA_API __attribute__((visibility("default")))
#define FOLIA_PLATFORM_WASM 0
#endif

// FOLIA_TARGET_CLONES on a hot, auto-vectorised function: native x86-64 builds target baseline
// x86-64 (SSE2), so GCC and clang emit an AVX2 clone next to it and the loader picks the one
// the CPU runs (glibc ifunc). Elsewhere (wasm: one SIMD width) it is nothing.
#if defined(__x86_64__) && defined(__linux__) && (defined(__GNUC__) || defined(__clang__)) && \
    !defined(__SANITIZE_ADDRESS__) && !defined(__EMSCRIPTEN__)
#define FOLIA_TARGET_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define FOLIA_TARGET_CLONES
#endif

#endif  // FOLIA_PLATFORM_H
