// folia-api.cpp: the C API of folia.h over the model file parser, the shared preprocessing and
// the XNNPACK graph. No file I/O and no platform code: the platform hands us bytes.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "folia.h"
#include "folia/model-file.h"
#include "folia/preprocess.h"
#include "xnnpack-graph.h"
#include "../teach/teach-internal.h"

struct folia_context {
    folia_params params;
    // The parsed model file and the CRC-32 of its bytes, kept for folia_teach_begin (which
    // trains a copy of the head and writes a new file from it).
    std::shared_ptr<const folia::model_file> model;
    uint32_t model_crc32 = 0;
    std::vector<std::string> labels;
    folia::preprocess_desc preprocess;
    folia::calibration_desc calibration;
    std::unique_ptr<folia::engine::xnnpack_graph> graph;
    std::vector<float> logits;  // (1, num_classes) scratch for classify
};

namespace {

bool valid_params(const folia_params &p) {
    return p.num_threads >= 1 && p.num_threads <= 256 && p.max_pixels > 0 && p.max_batch >= 1 &&
           (p.conv_algo == FOLIA_CONV_WINOGRAD || p.conv_algo == FOLIA_CONV_XNNPACK);
}

// probs = softmax(logits / temperature), computed in double with the max subtracted so large
// logits cannot overflow.
void softmax(const float *logits, int n, float temperature, float *probs) {
    double mx = -INFINITY;
    for (int i = 0; i < n; ++i) mx = std::max(mx, double(logits[i]) / temperature);
    double sum = 0;
    std::vector<double> e(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i)
        sum += e[size_t(i)] = std::exp(double(logits[i]) / temperature - mx);
    for (int i = 0; i < n; ++i) probs[i] = float(e[size_t(i)] / sum);
}

// img (any size, 3 channels) -> resized to the model input -> normalised into the graph input.
folia_status run_image(folia_context *ctx, const folia::image_u8 &img, float *out_probs) {
    const int s = ctx->graph->input_size();
    float *x = ctx->graph->input_buffer(1);
    if (!x) return FOLIA_ERR_OUT_OF_MEMORY;
    // Pillow's resize returns a copy when the size already matches; so do we (no filtering).
    if (img.width == s && img.height == s) {
        folia::normalize_nhwc(img, ctx->preprocess.mean, ctx->preprocess.std, x);
    } else {
        const folia::image_u8 small = folia::resize_bilinear_pillow(img, s, s);
        folia::normalize_nhwc(small, ctx->preprocess.mean, ctx->preprocess.std, x);
    }
    const folia_status st = ctx->graph->run(1, ctx->logits.data(), nullptr);
    if (st != FOLIA_OK) return st;
    softmax(ctx->logits.data(), ctx->graph->num_classes(), ctx->calibration.temperature, out_probs);
    return FOLIA_OK;
}

folia_status init_context(const void *bytes, size_t size, const folia_params *params,
                          folia_context **out_ctx, std::string *detail) {
    if (!out_ctx) return FOLIA_ERR_INVALID_ARGUMENT;
    *out_ctx = nullptr;
    if (!bytes && size > 0) return FOLIA_ERR_INVALID_ARGUMENT;
    const folia_params p = params ? *params : folia_default_params();
    if (!valid_params(p)) {
        *detail =
            "params out of range (num_threads 1..256, max_pixels > 0, max_batch >= 1, conv_algo "
            "FOLIA_CONV_WINOGRAD or FOLIA_CONV_XNNPACK)";
        return FOLIA_ERR_INVALID_ARGUMENT;
    }
    try {
        auto model = std::make_shared<folia::model_file>();
        static const uint8_t k_empty = 0;
        const uint8_t *b = bytes ? static_cast<const uint8_t *>(bytes) : &k_empty;
        folia_status st = folia::parse_model_file(b, size, model.get(), detail);
        if (st != FOLIA_OK) return st;
        auto ctx = std::make_unique<folia_context>();
        ctx->params = p;
        ctx->labels = model->labels;
        ctx->preprocess = model->preprocess;
        ctx->calibration = model->calibration;
        ctx->model_crc32 = folia::crc32(b, size);
        st = folia::engine::xnnpack_graph::create(
            folia::engine::fold_model(*model), p.num_threads, /*profile=*/false, &ctx->graph,
            detail, folia::engine::graph_output::logits,
            static_cast<folia::engine::conv_algo>(p.conv_algo));
        if (st != FOLIA_OK) return st;
        ctx->logits.resize(size_t(ctx->graph->num_classes()));
        ctx->model = std::move(model);
        *out_ctx = ctx.release();
        return FOLIA_OK;
    } catch (const std::bad_alloc &) {
        *detail = "out of memory while loading the model";
        return FOLIA_ERR_OUT_OF_MEMORY;
    } catch (...) {
        *detail = "engine failed while loading the model";
        return FOLIA_ERR_ENGINE;
    }
}

}  // namespace

// Private accessors for the teaching module (shared/src/teach), which lives in another file.
namespace folia::teach_internal {
std::shared_ptr<const folia::model_file> context_model(const folia_context *ctx) {
    return ctx->model;
}
uint32_t context_model_crc32(const folia_context *ctx) {
    return ctx->model_crc32;
}
int context_threads(const folia_context *ctx) {
    return ctx->params.num_threads;
}
size_t context_max_pixels(const folia_context *ctx) {
    return ctx->params.max_pixels;
}
int context_max_batch(const folia_context *ctx) {
    return ctx->params.max_batch;
}
}  // namespace folia::teach_internal

extern "C" {

const char *folia_status_message(folia_status status) {
    // Callers (JavaScript, C) may pass any int; in C++ a folia_status outside the enum's range is
    // undefined (UBSan: "not a valid value for type 'folia_status'"), so read the int's bytes.
    int value;
    static_assert(sizeof value == sizeof status, "folia_status is an int in the C ABI");
    std::memcpy(&value, &status, sizeof value);
    switch (value) {
        case FOLIA_OK:
            return "ok";
        case FOLIA_ERR_INVALID_ARGUMENT:
            return "invalid argument (null pointer, bad size, stride, channel count or batch)";
        case FOLIA_ERR_OUT_OF_MEMORY:
            return "out of memory";
        case FOLIA_ERR_MODEL_TOO_SMALL:
            return "model file too small: fewer bytes than the fixed header";
        case FOLIA_ERR_MODEL_MAGIC:
            return "not a Folia model file (bad magic)";
        case FOLIA_ERR_MODEL_VERSION:
            return "model file format version not supported by this build";
        case FOLIA_ERR_MODEL_TRUNCATED:
            return "model file truncated: the header announces more bytes than given";
        case FOLIA_ERR_MODEL_HEADER_CHECKSUM:
            return "model file header checksum mismatch (corrupted header)";
        case FOLIA_ERR_MODEL_PAYLOAD_CHECKSUM:
            return "model file payload checksum mismatch (corrupted weights)";
        case FOLIA_ERR_MODEL_HEADER:
            return "model file header malformed or missing a field";
        case FOLIA_ERR_MODEL_ARCH:
            return "model file describes an unknown or unsupported architecture";
        case FOLIA_ERR_MODEL_TENSOR:
            return "model file tensor missing, of the wrong shape, or out of bounds";
        case FOLIA_ERR_IMAGE_EMPTY:
            return "image is empty (zero bytes)";
        case FOLIA_ERR_IMAGE_FORMAT:
            return "not an image format Folia reads (JPEG or PNG)";
        case FOLIA_ERR_IMAGE_CORRUPT:
            return "image data truncated or damaged";
        case FOLIA_ERR_IMAGE_TOO_LARGE:
            return "image too large: more pixels than the configured limit or more bytes than "
                   "FOLIA_MAX_IMAGE_BYTES";
        case FOLIA_ERR_IMAGE_UNSUPPORTED:
            return "valid image of an unsupported kind";
        case FOLIA_ERR_ENGINE:
            return "inference engine (XNNPACK) failed to build or run the network";
        case FOLIA_ERR_CANCELLED:
            return "cancelled by the caller";
        case FOLIA_ERR_TEACH_LIMIT:
            return "teaching limit reached: too many photos or new classes in one session";
        case FOLIA_ERR_TEACH_EMPTY:
            return "nothing to teach: no photo was added";
        case FOLIA_ERR_TEACH_LABEL:
            return "invalid label: empty, longer than 64 bytes, not UTF-8 or with control "
                   "characters";
        case FOLIA_ERR_TEACH_STATE:
            return "teaching call out of order (add after run, result before run)";
        case FOLIA_ERR_MODEL_TOO_LARGE:
            return "model file too large: more bytes than FOLIA_MAX_MODEL_BYTES";
        case FOLIA_STATUS_COUNT:
            break;
    }
    return "unknown status";
}

folia_params folia_default_params(void) {
    folia_params p;
    p.num_threads = 1;
    p.max_pixels = 50000000;
    p.max_batch = 32;
    p.conv_algo = FOLIA_CONV_WINOGRAD;
    return p;
}

folia_status folia_init_from_buffer(const void *bytes, size_t size, const folia_params *params,
                                    folia_context **out_ctx) {
    return folia_init_from_buffer_ex(bytes, size, params, out_ctx, nullptr, 0);
}

folia_status folia_init_from_buffer_ex(const void *bytes, size_t size, const folia_params *params,
                                       folia_context **out_ctx, char *err, size_t err_size) {
    std::string detail;
    const folia_status st = init_context(bytes, size, params, out_ctx, &detail);
    if (st != FOLIA_OK && err && err_size > 0) {
        const size_t n = std::min(detail.size(), err_size - 1);
        std::memcpy(err, detail.data(), n);
        err[n] = '\0';
    }
    return st;
}

void folia_free(folia_context *ctx) {
    delete ctx;
}

int folia_num_classes(const folia_context *ctx) {
    return ctx ? ctx->graph->num_classes() : 0;
}

const char *folia_label(const folia_context *ctx, int index) {
    if (!ctx || index < 0 || index >= int(ctx->labels.size())) return nullptr;
    return ctx->labels[size_t(index)].c_str();
}

int folia_input_size(const folia_context *ctx) {
    return ctx ? ctx->graph->input_size() : 0;
}

float folia_temperature(const folia_context *ctx) {
    return ctx ? ctx->calibration.temperature : 1.0f;
}

float folia_abstain_threshold(const folia_context *ctx) {
    return ctx ? ctx->calibration.abstain_threshold : 0.0f;
}

folia_status folia_classify(folia_context *ctx, const uint8_t *pixels, int width, int height,
                            int stride, int channels, float *out_probs) {
    if (!ctx || !pixels || !out_probs || width < 1 || height < 1 ||
        (channels != 3 && channels != 4) || stride < width * channels)
        return FOLIA_ERR_INVALID_ARGUMENT;
    if (size_t(width) * size_t(height) > ctx->params.max_pixels) return FOLIA_ERR_IMAGE_TOO_LARGE;
    try {
        // Alpha is dropped before resizing, as Pillow's convert("RGB") does in training.
        folia::image_u8 img;
        img.width = width;
        img.height = height;
        img.channels = 3;
        img.data.resize(size_t(width) * size_t(height) * 3);
        for (int y = 0; y < height; ++y) {
            const uint8_t *src = pixels + size_t(y) * size_t(stride);
            uint8_t *dst = img.data.data() + size_t(y) * size_t(width) * 3;
            if (channels == 3) {
                std::memcpy(dst, src, size_t(width) * 3);
            } else {
                for (int x = 0; x < width; ++x) {
                    dst[3 * x] = src[4 * x];
                    dst[3 * x + 1] = src[4 * x + 1];
                    dst[3 * x + 2] = src[4 * x + 2];
                }
            }
        }
        return run_image(ctx, img, out_probs);
    } catch (const std::bad_alloc &) {
        return FOLIA_ERR_OUT_OF_MEMORY;
    }
}

folia_status folia_classify_image(folia_context *ctx, const void *bytes, size_t size,
                                  float *out_probs) {
    if (!ctx || !out_probs || (!bytes && size > 0)) return FOLIA_ERR_INVALID_ARGUMENT;
    if (size == 0) return FOLIA_ERR_IMAGE_EMPTY;
    try {
        folia::image_u8 img;
        const folia_status st =
            folia::preprocess_image(static_cast<const uint8_t *>(bytes), size,
                                    ctx->params.max_pixels, ctx->graph->input_size(), &img);
        if (st != FOLIA_OK) return st;
        if (img.channels != 3) return FOLIA_ERR_IMAGE_UNSUPPORTED;
        return run_image(ctx, img, out_probs);
    } catch (const std::bad_alloc &) {
        return FOLIA_ERR_OUT_OF_MEMORY;
    }
}

folia_status folia_logits(folia_context *ctx, const float *x, int batch, float *out_logits) {
    if (!ctx || !x || !out_logits || batch < 1) return FOLIA_ERR_INVALID_ARGUMENT;
    auto &g = *ctx->graph;
    const size_t per_image = g.input_floats_per_image();
    const size_t classes = size_t(g.num_classes());
    // Batches above max_batch run in chunks so memory stays bounded by max_batch images.
    for (int done = 0; done < batch;) {
        const int n = std::min(batch - done, ctx->params.max_batch);
        float *in = g.input_buffer(n);
        if (!in) return FOLIA_ERR_OUT_OF_MEMORY;
        // Copied into our padded buffer: XNNPACK may read a few bytes past its input's end.
        std::memcpy(in, x + size_t(done) * per_image, size_t(n) * per_image * sizeof(float));
        const folia_status st = g.run(n, out_logits + size_t(done) * classes, nullptr);
        if (st != FOLIA_OK) return st;
        done += n;
    }
    return FOLIA_OK;
}

}  // extern "C"
