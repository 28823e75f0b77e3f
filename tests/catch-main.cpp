// One Catch2 main for every test binary, native and wasm alike (Catch2 2.13 is header-only there).
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
