// folia.h: the Folia engine's public C API. Pixels or encoded image bytes in, probabilities out.
// The core never opens files: the platform hands it the model file's bytes.
#ifndef FOLIA_H
#define FOLIA_H

#include <stddef.h>
#include <stdint.h>

#include "folia-platform.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum folia_status {
    FOLIA_OK = 0,
    FOLIA_ERR_INVALID_ARGUMENT,   // null pointer, bad size or stride, batch < 1 ...
    FOLIA_ERR_OUT_OF_MEMORY,
    // model file
    FOLIA_ERR_MODEL_TOO_SMALL,    // fewer bytes than the fixed header
    FOLIA_ERR_MODEL_MAGIC,        // not a Folia model file
    FOLIA_ERR_MODEL_VERSION,      // a format version this build cannot read
    FOLIA_ERR_MODEL_TRUNCATED,    // sizes in the header exceed the bytes given
    FOLIA_ERR_MODEL_HEADER_CHECKSUM,
    FOLIA_ERR_MODEL_PAYLOAD_CHECKSUM,
    FOLIA_ERR_MODEL_HEADER,       // header JSON malformed or missing a field
    FOLIA_ERR_MODEL_ARCH,         // unknown architecture descriptor
    FOLIA_ERR_MODEL_TENSOR,       // a tensor missing, of the wrong shape, or out of bounds
    // images
    FOLIA_ERR_IMAGE_EMPTY,        // zero bytes
    FOLIA_ERR_IMAGE_FORMAT,       // not a JPEG/PNG we can read (random bytes, unknown format)
    FOLIA_ERR_IMAGE_CORRUPT,      // recognised format, but the data is truncated or damaged
    FOLIA_ERR_IMAGE_TOO_LARGE,    // header announces more pixels than params.max_pixels
    FOLIA_ERR_IMAGE_UNSUPPORTED,  // a valid image of a kind we do not take (e.g. 16-bit)
    // engine
    FOLIA_ERR_ENGINE,             // XNNPACK refused to build or run the graph
    FOLIA_STATUS_COUNT
} folia_status;

// A one-line, human-readable message for every status (never NULL).
FOLIA_API const char *folia_status_message(folia_status status);

typedef struct folia_params {
    int num_threads;      // 1 = no thread pool; default 1
    size_t max_pixels;    // images whose header announces more pixels are refused; default 50e6
    int max_batch;        // largest batch folia_logits accepts without re-planning; default 32
} folia_params;

FOLIA_API folia_params folia_default_params(void);

typedef struct folia_context folia_context;

// Parses and verifies the model file, folds BatchNorm and plans the XNNPACK graph.
// The bytes are copied: the caller may free them when this returns.
FOLIA_API folia_status folia_init_from_buffer(const void *bytes, size_t size,
                                              const folia_params *params, folia_context **out_ctx);
FOLIA_API void folia_free(folia_context *ctx);

FOLIA_API int folia_num_classes(const folia_context *ctx);
FOLIA_API const char *folia_label(const folia_context *ctx, int index);  // NULL if out of range
FOLIA_API int folia_input_size(const folia_context *ctx);                // 128 for the shipped model
FOLIA_API float folia_temperature(const folia_context *ctx);             // calibration, 1 if none
FOLIA_API float folia_abstain_threshold(const folia_context *ctx);       // p below it: "not sure"

// Classify RGB8 (channels = 3) or RGBA8 (channels = 4, alpha ignored) pixels; rows are
// `stride` bytes apart. Runs the exact training preprocessing (Pillow-bilinear resize to the
// model's input size, mean/std). out_probs has folia_num_classes() floats: the calibrated
// probabilities softmax(logits / temperature).
FOLIA_API folia_status folia_classify(folia_context *ctx, const uint8_t *pixels, int width,
                                      int height, int stride, int channels, float *out_probs);

// Decode (JPEG/PNG, EXIF orientation), preprocess and classify encoded image bytes.
FOLIA_API folia_status folia_classify_image(folia_context *ctx, const void *bytes, size_t size,
                                            float *out_probs);

// Raw network: x is (batch, S, S, 3) f32 normalised NHWC, out_logits is (batch, num_classes).
// Used by golden tests and benchmarks.
FOLIA_API folia_status folia_logits(folia_context *ctx, const float *x, int batch,
                                    float *out_logits);

#ifdef __cplusplus
}
#endif

#endif  // FOLIA_H
