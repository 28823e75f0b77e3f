// decode.cpp: JPEG/PNG bytes -> upright RGB8 with stb_image, refusing bad input with a status.
#include <cstdlib>
#include <cstring>
#include <new>

#include "container.h"
#include "folia/preprocess.h"

namespace folia::detail {

namespace {
// Per thread, so concurrent decodes (training's loader threads) never share state.
thread_local size_t t_largest_request = 0;
}  // namespace

size_t stb_largest_request() {
    return t_largest_request;
}
void stb_reset_stats() {
    t_largest_request = 0;
}

// Zero-filled: stb reads state it never wrote from damaged files (a scan that names a Huffman
// table no DHT defined reads the uninitialised table in stbi__jpeg; found by fuzz_decode and
// MemorySanitizer). With malloc the pixels then depended on whatever the heap held before (a
// previous photo's bytes); with calloc they are a function of the file alone. Large blocks come
// zeroed from the OS, so the 12 MP output buffer costs no extra pass.
static void *stb_malloc(size_t n) {
    if (n > t_largest_request) t_largest_request = n;
    return std::calloc(1, n == 0 ? 1 : n);
}
static void *stb_realloc(void *p, size_t n) {
    if (n > t_largest_request) t_largest_request = n;
    return std::realloc(p, n);
}

}  // namespace folia::detail

// stb_image is compiled here and only here. Only JPEG and PNG; no stdio (the core never opens
// files); its asserts compiled out so malformed input can only fail, never abort. We never call
// the stbi_set_* functions, whose settings are process-wide.
#define STB_IMAGE_IMPLEMENTATION
#define STB_IMAGE_STATIC
#define STBI_ONLY_JPEG
#define STBI_ONLY_PNG
#define STBI_NO_STDIO
#define STBI_ASSERT(x) ((void)0)
#define STBI_MALLOC(n) folia::detail::stb_malloc(n)
#define STBI_REALLOC(p, n) folia::detail::stb_realloc(p, n)
#define STBI_FREE(p) std::free(p)
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wunused-but-set-variable"
#endif
#include <stb/stb_image.h>
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

namespace folia {

namespace {

using detail::container_info;
using detail::image_kind;

// Checks the container before stb sees it; FOLIA_OK means stb may decode it.
folia_status check_container(image_kind kind, const container_info &info) {
    if (kind == image_kind::jpeg) {
        if (info.bad_tables) return FOLIA_ERR_IMAGE_CORRUPT;
        if (info.jpeg_sof < 0) return FOLIA_ERR_IMAGE_CORRUPT;  // no frame header at all
        // stb reads baseline, extended-sequential (Huffman) and progressive 8-bit JPEG; lossless,
        // hierarchical and arithmetic-coded files are valid JPEGs we do not take.
        const int sof = info.jpeg_sof;
        if (sof != 0xC0 && sof != 0xC1 && sof != 0xC2) return FOLIA_ERR_IMAGE_UNSUPPORTED;
        if (info.jpeg_precision != 8) return FOLIA_ERR_IMAGE_UNSUPPORTED;
        // Height 0 means "given later by a DNL marker": legal, but neither stb nor libjpeg read it.
        if (info.height == 0 && info.width > 0) return FOLIA_ERR_IMAGE_UNSUPPORTED;
        if (info.components != 1 && info.components != 3 && info.components != 4) {
            return FOLIA_ERR_IMAGE_CORRUPT;
        }
        // 4 components: stb converts Adobe CMYK (transform 0) and YCCK (2) with the formula
        // Pillow's convert("RGB") uses; without the Adobe marker stb would read the fourth
        // channel as alpha and give wrong colours, so refuse.
        if (info.components == 4 && info.adobe_transform != 0 && info.adobe_transform != 2) {
            return FOLIA_ERR_IMAGE_UNSUPPORTED;
        }
    } else {
        if (info.png_color_type < 0) return FOLIA_ERR_IMAGE_CORRUPT;  // no IHDR
        if (!info.checksums_ok) return FOLIA_ERR_IMAGE_CORRUPT;       // Pillow refuses these too
        // 16-bit grey is Pillow's "I;16", whose convert("RGB") clips instead of taking the high
        // byte as stb does; every other 16-bit PNG agrees (high byte) and is accepted.
        if (info.png_bit_depth == 16 && info.png_color_type == 0) {
            return FOLIA_ERR_IMAGE_UNSUPPORTED;
        }
    }
    if (!info.complete) return FOLIA_ERR_IMAGE_CORRUPT;  // truncated: no EOI / IEND
    if (info.width <= 0 || info.height <= 0) return FOLIA_ERR_IMAGE_CORRUPT;
    return FOLIA_OK;
}

// stb's RGB8 output, freed with stb's allocator.
struct stb_pixels {
    stbi_uc *data = nullptr;
    int width = 0, height = 0, orientation = 1;
    stb_pixels() = default;
    stb_pixels(const stb_pixels &) = delete;
    stb_pixels &operator=(const stb_pixels &) = delete;
    ~stb_pixels() {
        if (data) stbi_image_free(data);
    }
};

folia_status decode_stb(const uint8_t *bytes, size_t size, size_t max_pixels, stb_pixels *px) {
    if (!bytes && size > 0) return FOLIA_ERR_INVALID_ARGUMENT;
    if (size == 0) return FOLIA_ERR_IMAGE_EMPTY;
    // Before a byte is looked at (stb also takes an int length).
    static_assert(FOLIA_MAX_IMAGE_BYTES <= size_t(0x7FFFFFFF), "stb_image takes an int size");
    if (size > FOLIA_MAX_IMAGE_BYTES) return FOLIA_ERR_IMAGE_TOO_LARGE;
    const image_kind kind = detail::sniff_kind(bytes, size);
    if (kind == image_kind::unknown) return FOLIA_ERR_IMAGE_FORMAT;

    // The header decides the size before anything is allocated: the container walk reads it
    // without allocating, so an image announcing 40000x40000 is refused here even when the rest
    // of the file is missing.
    const container_info info =
        kind == image_kind::jpeg ? detail::scan_jpeg(bytes, size) : detail::scan_png(bytes, size);
    if (info.width > 0 && info.height > 0 &&
        uint64_t(info.width) * uint64_t(info.height) > uint64_t(max_pixels)) {
        return FOLIA_ERR_IMAGE_TOO_LARGE;
    }
    const folia_status st = check_container(kind, info);
    if (st != FOLIA_OK) return st;
    // stb's own reading of the header must agree with ours (and pass the same limit).
    int w = 0, h = 0, n = 0;
    if (!stbi_info_from_memory(bytes, int(size), &w, &h, &n) || w != info.width ||
        h != info.height) {
        return FOLIA_ERR_IMAGE_CORRUPT;
    }

    // req_comp = 3: stb replicates grey and drops alpha, as Pillow's convert("RGB") does;
    // 16-bit PNG samples keep their high byte.
    int cw = 0, ch = 0, cn = 0;
    px->data = stbi_load_from_memory(bytes, int(size), &cw, &ch, &cn, 3);
    if (!px->data) {
        const char *why = stbi_failure_reason();  // thread-local in this stb version
        if (why && std::strcmp(why, "outofmem") == 0) return FOLIA_ERR_OUT_OF_MEMORY;
        return FOLIA_ERR_IMAGE_CORRUPT;
    }
    if (cw != w || ch != h) return FOLIA_ERR_IMAGE_CORRUPT;
    px->width = w;
    px->height = h;
    px->orientation = info.orientation;
    return FOLIA_OK;
}

}  // namespace

folia_status decode_image(const uint8_t *bytes, size_t size, size_t max_pixels, image_u8 *out) {
    if (!out) return FOLIA_ERR_INVALID_ARGUMENT;
    stb_pixels px;
    const folia_status st = decode_stb(bytes, size, max_pixels, &px);
    if (st != FOLIA_OK) return st;
    try {
        image_u8 img;
        if (px.orientation == 1) {
            img.width = px.width;
            img.height = px.height;
            img.channels = 3;
            img.data.assign(px.data, px.data + size_t(px.width) * px.height * 3);
        } else {
            detail::orient_into(px.data, px.width, px.height, 3, px.orientation, &img);
        }
        *out = std::move(img);
    } catch (const std::bad_alloc &) {
        return FOLIA_ERR_OUT_OF_MEMORY;
    }
    return FOLIA_OK;
}

folia_status preprocess_image(const uint8_t *bytes, size_t size, size_t max_pixels, int out_size,
                              image_u8 *out) {
    if (!out || out_size <= 0) return FOLIA_ERR_INVALID_ARGUMENT;
    stb_pixels px;
    const folia_status st = decode_stb(bytes, size, max_pixels, &px);
    if (st != FOLIA_OK) return st;
    try {
        // Upright photos are resized straight from stb's buffer: a 12 MP photo is held once.
        if (px.orientation == 1) {
            *out = detail::resize_pixels(px.data, px.width, px.height, 3, out_size, out_size);
        } else {
            image_u8 upright;
            detail::orient_into(px.data, px.width, px.height, 3, px.orientation, &upright);
            stbi_image_free(px.data);
            px.data = nullptr;
            *out = resize_bilinear_pillow(upright, out_size, out_size);
        }
    } catch (const std::bad_alloc &) {
        return FOLIA_ERR_OUT_OF_MEMORY;
    }
    return FOLIA_OK;
}

}  // namespace folia
