// cli-support.h: what the CLI tests need around the real binaries: run a program and capture
// its output and how it ended, scratch folders, synthetic images and damaged model files.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace folia_test {

struct run_result {
    int exit_code = -1;  // valid when !signaled
    bool signaled = false;
    int signal = 0;
    std::string out, err;
};

// Runs argv[0] with the given arguments; env_set entries ("NAME=value") are added to the
// environment and env_unset names removed. No shell is involved.
run_result run(const std::vector<std::string> &argv, const std::vector<std::string> &env_set = {},
               const std::vector<std::string> &env_unset = {});

// The built binaries (paths compiled in by tests/cli.cmake).
std::string folia_exe();
std::string make_random_model_exe();

// A fresh folder under the build tree, removed (with its content) when the object dies.
class scratch_dir {
  public:
    explicit scratch_dir(const std::string &tag);
    ~scratch_dir();
    scratch_dir(const scratch_dir &) = delete;
    scratch_dir &operator=(const scratch_dir &) = delete;
    std::string path(const std::string &name) const { return dir_ + "/" + name; }

  private:
    std::string dir_;
};

std::vector<uint8_t> read_bytes(const std::string &path);
void write_bytes(const std::string &path, const std::vector<uint8_t> &bytes);

// (h, w, c) u8 pattern with smooth gradients and some texture, deterministic in seed.
std::vector<uint8_t> synthetic_pixels(int w, int h, int c, uint32_t seed);
std::vector<uint8_t> encode_png(const std::vector<uint8_t> &pixels, int w, int h, int c);
std::vector<uint8_t> encode_jpeg(const std::vector<uint8_t> &pixels, int w, int h, int c,
                                 int quality = 90);
// Folder d/label with n synthetic 96x80 PNG photos p0.png ... (a pattern that differs per seed):
// what the teaching tests teach as a new class. Returns the folder.
std::string photo_folder(const scratch_dir &d, const std::string &label, int n, uint32_t seed);

// A PNG whose IHDR announces w x h RGB pixels (valid CRCs) followed by a tiny IDAT and IEND:
// a decoder that allocates before checking the size would ask for w*h*3 bytes.
std::vector<uint8_t> png_header_only(uint32_t w, uint32_t h);
// SOI + a baseline SOF0 announcing w x h, 3 components, then EOI.
std::vector<uint8_t> jpeg_header_only(uint16_t w, uint16_t h);

// Rebuilds a model file around an edited JSON header (fixing sizes, padding and the header CRC
// so only the edit is wrong). edit is applied to the parsed header text.
std::vector<uint8_t> with_header(const std::vector<uint8_t> &model, const std::string &new_header);
std::string header_text(const std::vector<uint8_t> &model);

}  // namespace folia_test

namespace folia_test {

// Model files made once per test binary by the real folia-make-random-model: "model" has
// 38 classes (seed 7, random BatchNorm statistics), "model-unsure" the same weights with an
// abstain threshold of 1 (so no answer is sure).
struct model_files {
    std::string model, model_unsure;
};
const model_files &random_models();

}  // namespace folia_test
