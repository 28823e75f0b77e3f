// fuzz-model-file.cpp: the model-file reader (shared/src/model-file.cpp) on hostile bytes.
// Random mutations almost never keep both CRC-32s right, which would stop the fuzzer at the
// checksum checks; so each input is parsed twice: as given, and with the two checksums
// recomputed over whatever the (mutated) sizes announce, which lets mutations reach the JSON
// header and the tensor table. Invariant: a file that parses writes back to bytes that parse to
// the same model and write back identically (write(parse(write(m))) == write(m)).
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "folia/model-file.h"
#include "fuzz-check.h"

namespace {

uint32_t get_u32(const uint8_t *p) {
    return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
}
void put_u32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; ++i) p[i] = uint8_t(v >> (8 * i));
}

bool model_status(folia_status st) {
    return st == FOLIA_OK || (st >= FOLIA_ERR_MODEL_TOO_SMALL && st <= FOLIA_ERR_MODEL_TENSOR) ||
           st == FOLIA_ERR_MODEL_TOO_LARGE;
}

// Same layout as model-file.h: header CRC at 24, payload CRC at 28.
std::vector<uint8_t> with_fixed_checksums(const uint8_t *data, size_t size) {
    std::vector<uint8_t> b(data, data + size);
    if (size < folia::k_model_fixed_header) return b;
    const uint64_t header = get_u32(b.data() + 12);
    uint64_t payload = 0;
    for (int i = 7; i >= 0; --i) payload = payload << 8 | b[16 + size_t(i)];
    const uint64_t start = (folia::k_model_fixed_header + header + 63) / 64 * 64;
    if (folia::k_model_fixed_header + header <= size)
        put_u32(b.data() + 24, folia::crc32(b.data() + 32, size_t(header)));
    if (start <= size && payload <= size - start)
        put_u32(b.data() + 28, folia::crc32(b.data() + start, size_t(payload)));
    return b;
}

void parse_and_round_trip(const uint8_t *data, size_t size) {
    folia::model_file m;
    std::string error;
    const folia_status st = folia::parse_model_file(data, size, &m, &error);
    FOLIA_FUZZ_CHECK(model_status(st));
    if (st != FOLIA_OK) {
        FOLIA_FUZZ_CHECK(!error.empty());
        return;
    }
    FOLIA_FUZZ_CHECK(int(m.labels.size()) == m.arch.num_classes);
    std::vector<uint8_t> once, twice;
    FOLIA_FUZZ_CHECK(folia::write_model_file(m, &once, &error) == FOLIA_OK);
    folia::model_file again;
    FOLIA_FUZZ_CHECK(folia::parse_model_file(once.data(), once.size(), &again, &error) == FOLIA_OK);
    FOLIA_FUZZ_CHECK(folia::write_model_file(again, &twice, &error) == FOLIA_OK);
    FOLIA_FUZZ_CHECK(once == twice);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    parse_and_round_trip(data, size);
    const std::vector<uint8_t> fixed = with_fixed_checksums(data, size);
    parse_and_round_trip(fixed.data(), fixed.size());
    return 0;
}
