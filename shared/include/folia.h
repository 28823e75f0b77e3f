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
    // Numbers are part of the ABI (the web app and saved logs use them): append only, never
    // renumber; new statuses go just before FOLIA_STATUS_COUNT.
    FOLIA_OK = 0,
    FOLIA_ERR_INVALID_ARGUMENT = 1,  // null pointer, bad size or stride, batch < 1 ...
    FOLIA_ERR_OUT_OF_MEMORY = 2,
    // model file
    FOLIA_ERR_MODEL_TOO_SMALL = 3,  // fewer bytes than the fixed header
    FOLIA_ERR_MODEL_MAGIC = 4,      // not a Folia model file
    FOLIA_ERR_MODEL_VERSION = 5,    // a format version this build cannot read
    FOLIA_ERR_MODEL_TRUNCATED = 6,  // sizes in the header exceed the bytes given
    FOLIA_ERR_MODEL_HEADER_CHECKSUM = 7,
    FOLIA_ERR_MODEL_PAYLOAD_CHECKSUM = 8,
    FOLIA_ERR_MODEL_HEADER = 9,   // header JSON malformed or missing a field
    FOLIA_ERR_MODEL_ARCH = 10,    // unknown architecture descriptor
    FOLIA_ERR_MODEL_TENSOR = 11,  // a tensor missing, of the wrong shape, or out of bounds
    // images
    FOLIA_ERR_IMAGE_EMPTY = 12,        // zero bytes
    FOLIA_ERR_IMAGE_FORMAT = 13,       // not a JPEG/PNG we can read (random bytes, unknown format)
    FOLIA_ERR_IMAGE_CORRUPT = 14,      // recognised format, but the data is truncated or damaged
    FOLIA_ERR_IMAGE_TOO_LARGE = 15,    // over params.max_pixels (header) or FOLIA_MAX_IMAGE_BYTES
    FOLIA_ERR_IMAGE_UNSUPPORTED = 16,  // a valid image of a kind we do not take (e.g. 16-bit)
    // engine
    FOLIA_ERR_ENGINE = 17,  // XNNPACK refused to build or run the graph
    // teaching (folia_teach_*)
    FOLIA_ERR_CANCELLED = 18,        // the progress callback asked to stop
    FOLIA_ERR_TEACH_LIMIT = 19,      // too many photos or new classes in one session
    FOLIA_ERR_TEACH_EMPTY = 20,      // folia_teach_run with no photo added
    FOLIA_ERR_TEACH_LABEL = 21,      // label empty, too long, not UTF-8 or with control chars
    FOLIA_ERR_TEACH_STATE = 22,      // call out of order (add after run, result before run)
    FOLIA_ERR_MODEL_TOO_LARGE = 23,  // model file over FOLIA_MAX_MODEL_BYTES (read or written)
    FOLIA_STATUS_COUNT = 24
} folia_status;

// ---- limits (docs/limits.md): checked before anything large is allocated -------------------
// Encoded photo (folia_classify_image, folia_teach_add_image): more bytes => IMAGE_TOO_LARGE.
// A 50 MP camera JPEG is ~25 MB.
#define FOLIA_MAX_IMAGE_BYTES ((size_t)64 << 20)
// Model file, read (folia_init_from_buffer*) or written (folia_teach_result): more bytes =>
// FOLIA_ERR_MODEL_TOO_LARGE. The shipped model with its exemplars is 2.2 MB.
#define FOLIA_MAX_MODEL_BYTES ((size_t)64 << 20)
// Teaching session: folia_teach_params.max_photos at most FOLIA_TEACH_MAX_PHOTOS (else
// folia_teach_begin says INVALID_ARGUMENT); folia_teach_add_image says TEACH_LIMIT once the
// session holds max_photos photos or photos * views_per_photo would pass FOLIA_TEACH_MAX_VIEWS.
// A session holds each photo resized (S*S*3 bytes: 48 KiB at 128) and each view's features
// (1 KiB at C = 256), so at these caps it stays under ~70 MB of the wasm heap.
#define FOLIA_TEACH_MAX_PHOTOS 1000
#define FOLIA_TEACH_MAX_VIEWS 16384

// A one-line, human-readable message for every status (never NULL).
FOLIA_API const char *folia_status_message(folia_status status);

// folia_params.conv_algo: how the conv blocks with >= 8 input channels run (the RGB stem block
// always runs on XNNPACK's convolution). Both give the same logits within 1e-4.
#define FOLIA_CONV_WINOGRAD 0  // default: Winograd F(4x4, 3x3), max-pool fused (~2x faster)
#define FOLIA_CONV_XNNPACK 1   // XNNPACK's direct convolution, the whole network in one subgraph

typedef struct folia_params {
    int num_threads;    // 1 = no thread pool; default 1
    size_t max_pixels;  // images whose header announces more pixels are refused; default 50e6
    int max_batch;      // largest batch folia_logits accepts without re-planning; default 32
    int conv_algo;      // FOLIA_CONV_WINOGRAD (default) or FOLIA_CONV_XNNPACK
} folia_params;

FOLIA_API folia_params folia_default_params(void);

typedef struct folia_context folia_context;

// Parses and verifies the model file, folds BatchNorm and plans the XNNPACK graph.
// The bytes are copied: the caller may free them when this returns.
FOLIA_API folia_status folia_init_from_buffer(const void *bytes, size_t size,
                                              const folia_params *params, folia_context **out_ctx);
// The same, and on failure writes the detail (which tensor, which field, which size) as a
// NUL-terminated line into err (truncated to err_size - 1 bytes; err may be NULL).
FOLIA_API folia_status folia_init_from_buffer_ex(const void *bytes, size_t size,
                                                 const folia_params *params,
                                                 folia_context **out_ctx, char *err,
                                                 size_t err_size);
FOLIA_API void folia_free(folia_context *ctx);

FOLIA_API int folia_num_classes(const folia_context *ctx);
FOLIA_API const char *folia_label(const folia_context *ctx, int index);  // NULL if out of range
FOLIA_API int folia_input_size(const folia_context *ctx);           // 128 for the shipped model
FOLIA_API float folia_temperature(const folia_context *ctx);        // calibration, 1 if none
FOLIA_API float folia_abstain_threshold(const folia_context *ctx);  // p below it: "not sure"

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

// ---- on-device teaching: fine-tune the classifier head on the user's labelled photos --------
// The trunk (convolutions, BatchNorm) is frozen; fc1 and fc2 are trained on trunk features of
// augmented views of the taught photos, mixed with the model file's exemplar features (replay),
// so old classes are not forgotten. Without exemplars only the taught classes' fc2 rows move.
// The result is a new model file in the same format; see README.md "On-device teaching".

typedef struct folia_teach_params {
    int epochs;            // default 30
    int views_per_photo;   // augmented views per taught photo, default 8 (view 0 = unaugmented)
    int batch;             // default 32 (class-balanced batches)
    float lr;              // Adam, default 1e-3
    float weight_decay;    // default 1e-4 (Adam L2, torch semantics)
    uint64_t seed;         // default 42 — same photos + seed (+ date) => same bytes on a target;
                           // native vs wasm: same top-1, probabilities within 0.02
    int max_photos;        // default 500 photos per session, at most FOLIA_TEACH_MAX_PHOTOS
    int max_new_classes;   // default 8
    int replay_exemplars;  // 1 = replay the model file's exemplar features (default 1)
    // Added fields (append only):
    int64_t date_unix_s;  // meta "date" (seconds since 1970, UTC); default 0 = now. Set it to
                          // get identical bytes from identical runs.
} folia_teach_params;

FOLIA_API folia_teach_params folia_default_teach_params(void);

typedef struct folia_teach_session folia_teach_session;

// Starts a session on ctx's model (copied: ctx may be freed afterwards). p NULL = defaults.
FOLIA_API folia_status folia_teach_begin(folia_context *ctx, const folia_teach_params *p,
                                         folia_teach_session **out);
// label: existing label => more examples; unknown label => new class (grows fc2, old rows kept).
// note may be NULL (stored in meta as advice text). bytes: a JPEG or PNG photo.
// Labels: 1..64 bytes of UTF-8 without control characters; notes: at most 1024 bytes.
FOLIA_API folia_status folia_teach_add_image(folia_teach_session *s, const char *label,
                                             const char *note, const void *bytes, size_t size);
// progress(fraction 0..1, loss, user) returns nonzero to cancel => FOLIA_ERR_CANCELLED (the
// session may then be run again). progress may be NULL.
typedef int (*folia_teach_progress_fn)(float fraction, float loss, void *user);
FOLIA_API folia_status folia_teach_run(folia_teach_session *s, folia_teach_progress_fn progress,
                                       void *user);
// Writes the new model file (existing format) into a malloc'ed buffer; caller frees with
// folia_buffer_free.
FOLIA_API folia_status folia_teach_result(folia_teach_session *s, uint8_t **out_bytes,
                                          size_t *out_size);
FOLIA_API void folia_buffer_free(void *p);
// Summary JSON (classes, new_classes, examples, ms, per-label counts) as a NUL-terminated
// string owned by the session (valid until the next call on it); "{}" before a run.
FOLIA_API const char *folia_teach_summary_json(folia_teach_session *s);
FOLIA_API void folia_teach_free(folia_teach_session *s);

#ifdef __cplusplus
}
#endif

#endif  // FOLIA_H
