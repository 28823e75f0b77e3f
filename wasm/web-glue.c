// web-glue.c: conveniences for JavaScript callers of the web module, on top of folia.h.
// folia_default_params() returns a struct by value, which wasm passes through a hidden pointer
// argument; folia_web_init lets JS set the one knob it needs (threads) without that ABI detail.
// The only JS binding of all this is wasm/folia-engine.js.
#include "folia.h"

FOLIA_API folia_status folia_web_init(const void *bytes, size_t size, int num_threads,
                                      folia_context **out_ctx) {
    folia_params params = folia_default_params();
    params.num_threads = num_threads;
    return folia_init_from_buffer(bytes, size, &params, out_ctx);
}

// Size and layout facts JS needs to read results without guessing.
FOLIA_API int folia_web_sizeof_params(void) {
    return (int)sizeof(folia_params);
}

// Status names, so JS never spells a status as a number: it reads every name (and, through
// folia_status_message, every message) once, for 0 <= s < folia_web_status_count().
FOLIA_API int folia_web_status_count(void) {
    return (int)FOLIA_STATUS_COUNT;
}

#define FOLIA_WEB_NAME(s) \
    case s:               \
        return #s;
FOLIA_API const char *folia_web_status_name(int status) {
    // -Wswitch names any status of folia.h missing here.
    switch ((folia_status)status) {
        FOLIA_WEB_NAME(FOLIA_OK)
        FOLIA_WEB_NAME(FOLIA_ERR_INVALID_ARGUMENT)
        FOLIA_WEB_NAME(FOLIA_ERR_OUT_OF_MEMORY)
        FOLIA_WEB_NAME(FOLIA_ERR_MODEL_TOO_SMALL)
        FOLIA_WEB_NAME(FOLIA_ERR_MODEL_MAGIC)
        FOLIA_WEB_NAME(FOLIA_ERR_MODEL_VERSION)
        FOLIA_WEB_NAME(FOLIA_ERR_MODEL_TRUNCATED)
        FOLIA_WEB_NAME(FOLIA_ERR_MODEL_HEADER_CHECKSUM)
        FOLIA_WEB_NAME(FOLIA_ERR_MODEL_PAYLOAD_CHECKSUM)
        FOLIA_WEB_NAME(FOLIA_ERR_MODEL_HEADER)
        FOLIA_WEB_NAME(FOLIA_ERR_MODEL_ARCH)
        FOLIA_WEB_NAME(FOLIA_ERR_MODEL_TENSOR)
        FOLIA_WEB_NAME(FOLIA_ERR_IMAGE_EMPTY)
        FOLIA_WEB_NAME(FOLIA_ERR_IMAGE_FORMAT)
        FOLIA_WEB_NAME(FOLIA_ERR_IMAGE_CORRUPT)
        FOLIA_WEB_NAME(FOLIA_ERR_IMAGE_TOO_LARGE)
        FOLIA_WEB_NAME(FOLIA_ERR_IMAGE_UNSUPPORTED)
        FOLIA_WEB_NAME(FOLIA_ERR_ENGINE)
#ifdef FOLIA_WEB_TEACH
        FOLIA_WEB_NAME(FOLIA_ERR_CANCELLED)
        FOLIA_WEB_NAME(FOLIA_ERR_TEACH_LIMIT)
        FOLIA_WEB_NAME(FOLIA_ERR_TEACH_EMPTY)
        FOLIA_WEB_NAME(FOLIA_ERR_TEACH_LABEL)
        FOLIA_WEB_NAME(FOLIA_ERR_TEACH_STATE)
#endif
        FOLIA_WEB_NAME(FOLIA_ERR_MODEL_TOO_LARGE)
        case FOLIA_STATUS_COUNT:
            break;
    }
    return 0;
}
#undef FOLIA_WEB_NAME
