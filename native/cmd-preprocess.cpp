// cmd-preprocess.cpp: `folia preprocess IMG -o OUT.rgb [--size 128]`
// Writes the size x size x 3 uint8 RGB that the network sees before normalisation: decode,
// EXIF orientation, Pillow-exact bilinear resize. Parity tests compare it with Pillow's bytes.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "commands.h"
#include "file-io.h"
#include "folia/preprocess.h"

namespace folia_cli {

namespace {

struct preprocess_options {
    std::string image;
    std::string out;
    int size = 128;
};

int run_preprocess(const preprocess_options &o) {
    std::vector<uint8_t> bytes;
    std::string error;
    if (!read_file(o.image, &bytes, &error)) return refused("%s", error.c_str());
    folia::image_u8 img;
    const folia_status s = folia::preprocess_image(bytes.data(), bytes.size(),
                                                   folia_default_params().max_pixels, o.size, &img);
    if (s != FOLIA_OK) return refused("%s: %s", o.image.c_str(), folia_status_message(s));
    if (img.width != o.size || img.height != o.size || img.channels != 3 ||
        img.data.size() != size_t(o.size) * size_t(o.size) * 3)
        return refused("%s: preprocessing returned %dx%dx%d, expected %dx%dx3", o.image.c_str(),
                       img.width, img.height, img.channels, o.size, o.size);
    if (!write_file_atomic(o.out, img.data.data(), img.data.size(), &error))
        return refused("%s", error.c_str());
    return k_exit_ok;
}

}  // namespace

command add_preprocess_command(CLI::App &app) {
    auto o = std::make_shared<preprocess_options>();
    CLI::App *sub = app.add_subcommand(
        "preprocess", "Write the network's uint8 RGB input (decode + orientation + resize)");
    sub->add_option("image", o->image, "Photo (JPEG/PNG)")->required();
    add_output_option(sub, &o->out, "Output file: size*size*3 bytes, rows top to bottom");
    sub->add_option("--size", o->size, "Output width and height")->check(CLI::Range(1, 4096));
    return {sub, [o] { return run_preprocess(*o); }};
}

}  // namespace folia_cli
