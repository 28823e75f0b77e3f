// web-glue.c: conveniences for JavaScript callers of the web module, on top of folia.h.
// folia_default_params() returns a struct by value, which wasm passes through a hidden pointer
// argument; folia_web_init lets JS set the one knob it needs (threads) without that ABI detail.
#include "folia.h"

FOLIA_API folia_status folia_web_init(const void *bytes, size_t size, int num_threads,
                                      folia_context **out_ctx) {
    folia_params params = folia_default_params();
    params.num_threads = num_threads;
    return folia_init_from_buffer(bytes, size, &params, out_ctx);
}

// Size and layout facts JS needs to read results without guessing.
FOLIA_API int folia_web_sizeof_params(void) { return (int)sizeof(folia_params); }
