// test-fuzz-regressions.cpp: inputs fuzz_decode found (fuzz/regressions/fuzz_decode, synthetic
// bytes mutated from fuzz/make-seeds.py's images), replayed as ordinary tests so the native,
// sanitizer and wasm suites keep them fixed. tools/fuzz.sh also replays them through the harness.
#include <catch2/catch.hpp>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "folia/preprocess.h"

namespace {

std::vector<uint8_t> read_bytes(const std::filesystem::path &p) {
    std::ifstream f(p, std::ios::binary);
    return std::vector<uint8_t>(std::istreambuf_iterator<char>(f), {});
}

// Leaves freed blocks of every size stb's decoder state and buffers use (1..64 KiB) full of
// 0xA5, so a later malloc of that size likely returns memory that is not zero.
void dirty_the_heap() {
    std::vector<void *> blocks;
    for (size_t n = 1024; n <= 65536; n += 512) {
        void *p = std::malloc(n);
        std::memset(p, 0xA5, n);
        blocks.push_back(p);
    }
    for (auto it = blocks.rbegin(); it != blocks.rend(); ++it) std::free(*it);
}

}  // namespace

TEST_CASE(
    "Damaged JPEGs that use an undefined Huffman table decode to the same pixels whatever "
    "the heap held",
    "[fuzz][preprocess]") {
    // stb_image reads its never-written table from such files; decode.cpp gives stb zeroed
    // memory, so the result depends on the file alone (it used to differ between two decodes in
    // one process: fuzz_decode's "preprocess_image == decode + resize" invariant failed).
    const std::filesystem::path dir =
        std::filesystem::path(FOLIA_TEST_SOURCE_DIR) / "fuzz" / "regressions" / "fuzz_decode";
    int files = 0;
    for (const auto &e : std::filesystem::directory_iterator(dir)) {
        const std::vector<uint8_t> b = read_bytes(e.path());
        INFO(e.path().filename().string());
        REQUIRE(!b.empty());
        ++files;
        folia::image_u8 first, again, small;
        const folia_status st = folia::decode_image(b.data(), b.size(), 1 << 21, &first);
        for (int round = 0; round < 3; ++round) {
            dirty_the_heap();
            REQUIRE(folia::decode_image(b.data(), b.size(), 1 << 21, &again) == st);
            CHECK(again.data == first.data);
            REQUIRE(folia::preprocess_image(b.data(), b.size(), 1 << 21, 32, &small) == st);
            if (st == FOLIA_OK)
                CHECK(small.data == folia::resize_bilinear_pillow(first, 32, 32).data);
        }
    }
    CHECK(files >= 3);
}
