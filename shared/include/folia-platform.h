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

#endif  // FOLIA_PLATFORM_H
