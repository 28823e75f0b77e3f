// lab-screenshot.cpp: glReadPixels + stb_image_write (Debian libstb-dev).
#include "lab-screenshot.h"

#include <cstring>
#include <vector>

#include "lab-gl.h"
#include "platform.h"

// stb_image_write is compiled here and only here in the lab (the core has no PNG writer).
#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STB_IMAGE_WRITE_STATIC
#include <stb/stb_image_write.h>

namespace folia_lab {

namespace {

void append_bytes(void *ctx, void *data, int size) {
    auto *out = static_cast<std::vector<unsigned char> *>(ctx);
    const auto *p = static_cast<const unsigned char *>(data);
    out->insert(out->end(), p, p + size);
}

}  // namespace

bool save_screenshot_png(const std::string &path, int w, int h, std::string *error) {
    if (w <= 0 || h <= 0) {
        *error = "empty framebuffer";
        return false;
    }
    // RGBA reads are the one format GLES guarantees; the PNG drops alpha.
    std::vector<unsigned char> rgba(size_t(w) * size_t(h) * 4), rgb(size_t(w) * size_t(h) * 3);
    glPixelStorei(GL_PACK_ALIGNMENT, 1);
    glReadPixels(0, 0, w, h, GL_RGBA, GL_UNSIGNED_BYTE, rgba.data());
    // GL's rows run bottom to top.
    for (int y = 0; y < h; ++y) {
        const unsigned char *src = rgba.data() + size_t(h - 1 - y) * size_t(w) * 4;
        unsigned char *dst = rgb.data() + size_t(y) * size_t(w) * 3;
        for (int x = 0; x < w; ++x) std::memcpy(dst + 3 * x, src + 4 * x, 3);
    }
    std::vector<unsigned char> png;
    if (!stbi_write_png_to_func(append_bytes, &png, w, h, 3, rgb.data(), w * 3)) {
        *error = path + ": PNG encoding failed";
        return false;
    }
    return platform_write_file(path, png.data(), png.size(), error);
}

}  // namespace folia_lab
