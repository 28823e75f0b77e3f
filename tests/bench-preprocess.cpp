// bench-preprocess: time of the Pillow-exact resize and of the decode of a 12 MP photo, with
// stb_image_resize and raw stb_image measured in the same run as peers. Prints figures; asserts
// nothing. Usage: folia_bench_preprocess [photo.jpg]  (default: a synthetic 4032x3024 JPEG)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <vector>

#include "folia/preprocess.h"

#define STB_IMAGE_STATIC
#define STB_IMAGE_IMPLEMENTATION
#define STBI_ONLY_JPEG
#define STBI_ONLY_PNG
#include <stb/stb_image.h>
#define STB_IMAGE_RESIZE_STATIC
#define STB_IMAGE_RESIZE_IMPLEMENTATION
#include <stb/stb_image_resize.h>
#define STB_IMAGE_WRITE_STATIC
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb/stb_image_write.h>

namespace {

using clock_type = std::chrono::steady_clock;

// Wall time, and process CPU time: this code is single-threaded, so CPU time is the figure that
// stays meaningful when other jobs share the machine (wall min is the other robust one).
struct timing {
    double mean_ms = 0, min_ms = 0, cpu_ms = 0;
};

template <class F>
timing measure(int warmup, int runs, F &&f) {
    for (int i = 0; i < warmup; ++i) f();
    std::vector<double> ms;
    const std::clock_t c0 = std::clock();
    for (int i = 0; i < runs; ++i) {
        const auto t0 = clock_type::now();
        f();
        ms.push_back(std::chrono::duration<double, std::milli>(clock_type::now() - t0).count());
    }
    timing t;
    t.cpu_ms = 1000.0 * double(std::clock() - c0) / CLOCKS_PER_SEC / runs;
    for (double v : ms) t.mean_ms += v / runs;
    t.min_ms = *std::min_element(ms.begin(), ms.end());
    return t;
}

// A photo-like 4032x3024 image: smooth gradients, soft blobs and mild noise (a JPEG of plain
// noise would be several times larger than a phone photo and slow the decoder unrealistically).
folia::image_u8 synthetic_photo(int w, int h) {
    folia::image_u8 img;
    img.width = w, img.height = h, img.channels = 3;
    img.data.resize(size_t(w) * h * 3);
    uint32_t s = 12345;
    for (int y = 0; y < h; ++y) {
        for (int x = 0; x < w; ++x) {
            s = s * 1664525u + 1013904223u;
            const int n = int(s >> 28) - 8;
            const int blob = ((x / 301 + y / 257) % 3) * 30;
            uint8_t *p = &img.data[(size_t(y) * w + x) * 3];
            p[0] = uint8_t(std::clamp(40 + x * 120 / w + blob + n, 0, 255));
            p[1] = uint8_t(std::clamp(90 + y * 100 / h + n, 0, 255));
            p[2] = uint8_t(std::clamp(30 + blob + (x + y) * 60 / (w + h) + n, 0, 255));
        }
    }
    return img;
}

void report(const char *what, const timing &t) {
    std::printf("  %-29s: cpu %7.2f ms   wall mean %7.2f ms  min %7.2f ms\n", what, t.cpu_ms,
                t.mean_ms, t.min_ms);
}

bool read_all(const char *path, std::vector<uint8_t> *out) {
    FILE *f = std::fopen(path, "rb");
    if (!f) return false;
    uint8_t buf[1 << 16];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out->insert(out->end(), buf, buf + n);
    std::fclose(f);
    return true;
}

}  // namespace

int main(int argc, char **argv) {
    const int out_size = 128;
    const folia::image_u8 photo = synthetic_photo(4032, 3024);

    // --- resize: ours (Pillow-exact) vs stb_image_resize, same input, same run ---------------
    folia::image_u8 ours;
    const timing t_ours =
        measure(2, 15, [&] { ours = folia::resize_bilinear_pillow(photo, out_size, out_size); });
    std::vector<uint8_t> stb_out(size_t(out_size) * out_size * 3);
    const timing t_stbir = measure(2, 15, [&] {
        stbir_resize_uint8(photo.data.data(), photo.width, photo.height, 0, stb_out.data(),
                           out_size, out_size, 0, 3);
    });
    int max_diff = 0;
    for (size_t i = 0; i < stb_out.size(); ++i) {
        max_diff = std::max(max_diff, std::abs(int(stb_out[i]) - int(ours.data[i])));
    }
    std::printf("resize 4032x3024 -> %dx%d RGB (15 runs after 2 warm-up)\n", out_size, out_size);
    report("folia resize_bilinear_pillow", t_ours);
    report("stb_image_resize (default)", t_stbir);
    std::printf(
        "  ratio folia / stbir          : %.2fx cpu, %.2fx wall min   (outputs differ by up "
        "to %d levels: stbir is not Pillow)\n",
        t_ours.cpu_ms / t_stbir.cpu_ms, t_ours.min_ms / t_stbir.min_ms, max_diff);

    // --- decode a 12 MP JPEG: ours (checks + stb + copy) vs raw stb_image ---------------------
    std::vector<uint8_t> jpeg;
    const char *what = "synthetic 4032x3024 JPEG (stb_image_write, quality 90)";
    if (argc > 1) {
        if (!read_all(argv[1], &jpeg)) {
            std::fprintf(stderr, "cannot read %s\n", argv[1]);
            return 1;
        }
        what = argv[1];
    } else {
        stbi_write_jpg_to_func(
            [](void *ctx, void *data, int size) {
                auto *v = static_cast<std::vector<uint8_t> *>(ctx);
                v->insert(v->end(), (uint8_t *)data, (uint8_t *)data + size);
            },
            &jpeg, photo.width, photo.height, 3, photo.data.data(), 90);
    }
    folia::image_u8 decoded;
    folia_status st = FOLIA_OK;
    const timing t_dec = measure(
        1, 5, [&] { st = folia::decode_image(jpeg.data(), jpeg.size(), 50000000, &decoded); });
    if (st != FOLIA_OK) {
        std::fprintf(stderr, "decode failed with status %d\n", int(st));
        return 1;
    }
    const timing t_raw = measure(1, 5, [&] {
        int w, h, n;
        stbi_uc *p = stbi_load_from_memory(jpeg.data(), int(jpeg.size()), &w, &h, &n, 3);
        stbi_image_free(p);
    });
    folia::image_u8 tensor;
    const timing t_pre = measure(1, 5, [&] {
        st = folia::preprocess_image(jpeg.data(), jpeg.size(), 50000000, out_size, &tensor);
    });
    std::printf("decode %s: %dx%d, %.2f MB (5 runs after 1 warm-up)\n", what, decoded.width,
                decoded.height, jpeg.size() / 1e6);
    report("folia decode_image", t_dec);
    report("raw stbi_load_from_memory", t_raw);
    std::printf("  ratio folia / raw stb        : %.2fx cpu, %.2fx wall min\n",
                t_dec.cpu_ms / t_raw.cpu_ms, t_dec.min_ms / t_raw.min_ms);
    report("folia preprocess_image", t_pre);
    return 0;
}
