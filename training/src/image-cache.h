// image-cache.h: every image of a dataset decoded and resized ONCE through the shared
// preprocessing (folia::preprocess_image: stb_image + Pillow-exact bilinear), kept as
// (N, S, S, 3) u8 so epochs never re-decode, and training sees exactly the bytes the native
// CLI and the browser compute. The cache file lives under the build tree (never committed:
// it is derived from the dataset images), written atomically, and is keyed by the file list,
// sizes, input size and k_preprocess_version, so a changed dataset or preprocessing rebuilds it.
// No LibTorch here.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "dataset.h"
#include "folia/preprocess.h"

namespace folia::train {

// Bump when the shared preprocessing changes its output bytes.
inline constexpr int k_preprocess_version = 1;

struct image_cache {
    int size = 0;               // S
    std::vector<uint8_t> data;  // (N, S, S, 3) u8, in dataset::samples order
    size_t count() const { return size ? data.size() / (size_t(size) * size * 3) : 0; }
    const uint8_t *image(size_t i) const { return data.data() + i * size_t(size) * size * 3; }
    image_u8 image_copy(size_t i) const;
};

// The cache file for (d, size) inside cache_dir: "<cache_dir>/images-<S>-<key hex>.u8".
std::string cache_path(const dataset &d, int size, const std::string &cache_dir);

// Loads the cache file if present and valid, else preprocesses every image with `threads`
// threads (progress bar on stderr) and writes it. An image the preprocessing refuses throws
// std::runtime_error naming the file and the status message.
image_cache load_or_build_cache(const dataset &d, int size, const std::string &cache_dir,
                                int threads = 2, bool *built = nullptr);

// Preprocesses a subset in memory (no file): used by tests on small slices.
image_cache build_cache(const dataset &d, int size, int threads = 2, bool show_progress = true);

}  // namespace folia::train
