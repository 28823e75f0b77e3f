// web-glue-teach.c: the teaching API (folia_teach_*) for JavaScript, compiled into the web module
// when folia.h declares it (wasm/CMakeLists.txt). folia_default_teach_params() returns a struct
// by value and folia_teach_params holds 64-bit fields; folia_web_teach_begin takes the knobs JS
// sets as plain 32-bit ints / a double instead. The progress callback calls the JS function
// Module.foliaTeachProgress(fraction, loss) (set by wasm/folia-engine.js) on the calling thread;
// a truthy return cancels the run (FOLIA_ERR_CANCELLED).
#include <emscripten.h>

#include "folia.h"

// clang-format off
EM_JS(int, folia_web_teach_progress_js, (float fraction, float loss), {
    var f = Module['foliaTeachProgress'];
    return f ? (f(fraction, loss) ? 1 : 0) : 0;
});
// clang-format on

static int web_progress(float fraction, float loss, void *user) {
    (void)user;
    return folia_web_teach_progress_js(fraction, loss);
}

// epochs, views_per_photo, batch: <= 0 keeps the default. has_seed: 0 keeps the default seed.
// date_unix_s: 0 = now (the core's default).
FOLIA_API folia_status folia_web_teach_begin(folia_context *ctx, int epochs, int views_per_photo,
                                             int batch, uint32_t seed, int has_seed,
                                             double date_unix_s, folia_teach_session **out) {
    folia_teach_params p = folia_default_teach_params();
    if (epochs > 0) p.epochs = epochs;
    if (views_per_photo > 0) p.views_per_photo = views_per_photo;
    if (batch > 0) p.batch = batch;
    if (has_seed) p.seed = seed;
    if (date_unix_s > 0) p.date_unix_s = (int64_t)date_unix_s;
    return folia_teach_begin(ctx, &p, out);
}

FOLIA_API folia_status folia_web_teach_run(folia_teach_session *s) {
    return folia_teach_run(s, web_progress, 0);
}
