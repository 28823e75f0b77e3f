// fuzz-api.cpp: the public C API of folia.h as a hostile caller uses it. The first byte picks
// what to drive:
//   0  folia_init_from_buffer_ex on the bytes (as given, and with the model file's checksums
//      recomputed) with random params; a context that loads must classify.
//   1  folia_classify with random width, height, stride and channel count on a pixel buffer of
//      exactly the size those arguments need (stride * (h - 1) + w * channels bytes).
//   2  folia_classify_image on the bytes (two contexts: default and 1000-pixel limit).
//   3  a teaching session: random params (tiny valid ones, or hostile ones that must be refused),
//      1-4 photos cut from the bytes, random labels and notes, a progress callback that cancels;
//      a finished session's model file must parse, load and have the classes it says.
//   4  folia_logits with a random batch (across the max_batch chunking) of random floats.
// Contexts run a small random model (channels 4,8, hidden 8, input 16; one with exemplars) so
// one input takes milliseconds.
#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "folia.h"
#include "folia/model-file.h"
#include "fuzz-check.h"
#include "random-model.h"

namespace {

constexpr int k_classes = 3;

std::vector<uint8_t> small_model_bytes(bool exemplars) {
    folia_cli::random_model_options o;
    o.num_classes = k_classes;
    o.channels = {4, 8};
    o.hidden = 8;
    o.input_size = 16;
    o.random_bn = true;
    o.seed = exemplars ? 2 : 1;
    folia::model_file m = folia_cli::make_random_model(o);
    if (exemplars) {
        folia::tensor_f32 f, l;
        f.shape = {6, 8};
        for (int i = 0; i < 48; ++i) f.data.push_back(float(i % 7) * 0.25f);
        l.shape = {6};
        l.data = {0, 1, 2, 0, 1, 2};
        m.tensors[folia::k_exemplar_features] = f;
        m.tensors[folia::k_exemplar_labels] = l;
    }
    std::vector<uint8_t> bytes;
    FOLIA_FUZZ_CHECK(folia::write_model_file(m, &bytes) == FOLIA_OK);
    return bytes;
}

folia_context *make_context(bool exemplars, size_t max_pixels) {
    const std::vector<uint8_t> bytes = small_model_bytes(exemplars);
    folia_params p = folia_default_params();
    p.max_pixels = max_pixels;
    p.max_batch = 4;
    folia_context *ctx = nullptr;
    FOLIA_FUZZ_CHECK(folia_init_from_buffer(bytes.data(), bytes.size(), &p, &ctx) == FOLIA_OK);
    return ctx;
}

// Made once; LeakSanitizer ignores them (reachable from statics). 4 MP instead of the default
// 50 MP: a hostile header then cannot make one input decode for seconds (the limit's logic is the
// same at any value; fuzz_decode checks it one pixel either side).
folia_context *g_ctx = make_context(false, size_t(1) << 22);
folia_context *g_ctx_exemplars = make_context(true, size_t(1) << 22);
folia_context *g_ctx_small_limit = make_context(false, 1000);

void check_probs(const float *p, int n) {
    double sum = 0;
    for (int i = 0; i < n; ++i) {
        FOLIA_FUZZ_CHECK(p[i] >= 0.0f && p[i] <= 1.0f);
        sum += p[i];
    }
    FOLIA_FUZZ_CHECK(std::fabs(sum - 1.0) < 1e-4);
}

bool image_status(folia_status st) {
    return st == FOLIA_OK || st == FOLIA_ERR_IMAGE_EMPTY || st == FOLIA_ERR_IMAGE_FORMAT ||
           st == FOLIA_ERR_IMAGE_CORRUPT || st == FOLIA_ERR_IMAGE_TOO_LARGE ||
           st == FOLIA_ERR_IMAGE_UNSUPPORTED || st == FOLIA_ERR_OUT_OF_MEMORY;
}

void fix_checksums(std::vector<uint8_t> *b) {
    if (b->size() < 32) return;
    uint8_t *d = b->data();
    const uint64_t header =
        uint64_t(d[12]) | uint64_t(d[13]) << 8 | uint64_t(d[14]) << 16 | uint64_t(d[15]) << 24;
    uint64_t payload = 0;
    for (int i = 7; i >= 0; --i) payload = payload << 8 | d[16 + i];
    const uint64_t start = (32 + header + 63) / 64 * 64;
    auto put = [&](size_t at, uint32_t v) {
        for (int i = 0; i < 4; ++i) d[at + size_t(i)] = uint8_t(v >> (8 * i));
    };
    if (32 + header <= b->size()) put(24, folia::crc32(d + 32, size_t(header)));
    if (start <= b->size() && payload <= b->size() - start)
        put(28, folia::crc32(d + start, size_t(payload)));
}

void classify_small(folia_context *ctx) {
    std::vector<uint8_t> px(20 * 20 * 3, 128);
    std::vector<float> probs(size_t(folia_num_classes(ctx)));
    FOLIA_FUZZ_CHECK(folia_classify(ctx, px.data(), 20, 20, 60, 3, probs.data()) == FOLIA_OK);
}

void drive_init(FuzzedDataProvider &fdp) {
    folia_params p = folia_default_params();
    switch (fdp.ConsumeIntegralInRange(0, 7)) {
        case 0:
            p.num_threads = fdp.PickValueInArray({0, -1, 257});
            break;
        case 1:
            p.max_pixels = 0;
            break;
        case 2:
            p.max_batch = fdp.PickValueInArray({0, -1, std::numeric_limits<int>::min()});
            break;
        case 3:
            p.max_batch = fdp.ConsumeIntegralInRange(1, 64);
            break;
        default:
            break;
    }
    const bool valid =
        p.num_threads >= 1 && p.num_threads <= 256 && p.max_pixels > 0 && p.max_batch >= 1;
    std::vector<uint8_t> bytes = fdp.ConsumeRemainingBytes<uint8_t>();
    for (int pass = 0; pass < 2; ++pass) {
        if (pass == 1) fix_checksums(&bytes);
        folia_context *ctx = nullptr;
        char err[256];
        const folia_status st =
            folia_init_from_buffer_ex(bytes.data(), bytes.size(), &p, &ctx, err, sizeof err);
        if (!valid) FOLIA_FUZZ_CHECK(st == FOLIA_ERR_INVALID_ARGUMENT);
        FOLIA_FUZZ_CHECK((st == FOLIA_OK) == (ctx != nullptr));
        FOLIA_FUZZ_CHECK(st >= FOLIA_OK && st < FOLIA_STATUS_COUNT);
        if (st != FOLIA_OK) {
            FOLIA_FUZZ_CHECK(std::strlen(err) < sizeof err && err[0] != '\0');
            continue;
        }
        FOLIA_FUZZ_CHECK(folia_num_classes(ctx) >= 1 && folia_input_size(ctx) >= 8);
        FOLIA_FUZZ_CHECK(folia_label(ctx, 0) != nullptr && !folia_label(ctx, -1) &&
                         !folia_label(ctx, folia_num_classes(ctx)));
        // Weights come from the input and may be NaN: classify must run, its values are free.
        if (folia_input_size(ctx) <= 64) classify_small(ctx);
        folia_free(ctx);
    }
}

void drive_classify(FuzzedDataProvider &fdp) {
    const int w = fdp.ConsumeIntegralInRange(-1, 300);
    const int h = fdp.ConsumeIntegralInRange(-1, 300);
    const int c = fdp.ConsumeIntegralInRange(-1, 6);
    const int stride = w * c + fdp.ConsumeIntegralInRange(-4, 9);
    const bool valid = w >= 1 && h >= 1 && (c == 3 || c == 4) && stride >= w * c;
    folia_context *ctx = fdp.ConsumeBool() ? g_ctx : g_ctx_small_limit;
    const std::vector<uint8_t> fill = fdp.ConsumeRemainingBytes<uint8_t>();
    // Exactly the bytes the arguments promise: ASan flags any read past the last pixel.
    const size_t need = valid ? size_t(stride) * size_t(h - 1) + size_t(w) * size_t(c) : 1;
    std::vector<uint8_t> px(need);
    for (size_t i = 0; i < need; ++i) px[i] = fill.empty() ? uint8_t(i) : fill[i % fill.size()];
    std::vector<float> probs(k_classes);
    const folia_status st = folia_classify(ctx, px.data(), w, h, stride, c, probs.data());
    if (!valid) {
        FOLIA_FUZZ_CHECK(st == FOLIA_ERR_INVALID_ARGUMENT);
    } else if (ctx == g_ctx_small_limit && size_t(w) * size_t(h) > 1000) {
        FOLIA_FUZZ_CHECK(st == FOLIA_ERR_IMAGE_TOO_LARGE);
    } else {
        FOLIA_FUZZ_CHECK(st == FOLIA_OK);
        check_probs(probs.data(), k_classes);
    }
}

void drive_classify_image(FuzzedDataProvider &fdp) {
    folia_context *ctx = fdp.ConsumeBool() ? g_ctx : g_ctx_small_limit;
    const std::vector<uint8_t> bytes = fdp.ConsumeRemainingBytes<uint8_t>();
    std::vector<float> probs(k_classes);
    const folia_status st = folia_classify_image(ctx, bytes.data(), bytes.size(), probs.data());
    FOLIA_FUZZ_CHECK(image_status(st));
    if (st == FOLIA_OK) check_probs(probs.data(), k_classes);
}

void drive_logits(FuzzedDataProvider &fdp) {
    const int batch = fdp.ConsumeIntegralInRange(-1, 9);
    const size_t per = 16 * 16 * 3;
    std::vector<float> x(size_t(batch > 0 ? batch : 1) * per);
    const std::vector<uint8_t> fill = fdp.ConsumeRemainingBytes<uint8_t>();
    for (size_t i = 0; i < x.size(); ++i)
        x[i] = fill.empty() ? 0.0f : float(int(fill[i % fill.size()]) - 128) / 64.0f;
    std::vector<float> logits(size_t(batch > 0 ? batch : 1) * k_classes);
    const folia_status st = folia_logits(g_ctx, x.data(), batch, logits.data());
    FOLIA_FUZZ_CHECK(st == (batch >= 1 ? FOLIA_OK : FOLIA_ERR_INVALID_ARGUMENT));
}

struct cancel_after {
    int calls_left;  // < 0: never cancel
};
int progress_cb(float fraction, float loss, void *user) {
    FOLIA_FUZZ_CHECK(fraction >= 0.0f && fraction <= 1.0f);
    (void)loss;
    auto *c = static_cast<cancel_after *>(user);
    return c->calls_left >= 0 && c->calls_left-- == 0;
}

// Tiny valid params, or one field set to a value folia_teach_begin must refuse.
folia_teach_params teach_params(FuzzedDataProvider &fdp, bool *valid) {
    folia_teach_params p = folia_default_teach_params();
    p.epochs = fdp.ConsumeIntegralInRange(1, 2);
    p.views_per_photo = fdp.ConsumeIntegralInRange(1, 3);
    p.batch = fdp.ConsumeIntegralInRange(1, 8);
    p.max_photos = fdp.ConsumeIntegralInRange(1, 4);
    p.max_new_classes = fdp.ConsumeIntegralInRange(0, 2);
    p.replay_exemplars = fdp.ConsumeBool();
    p.seed = fdp.ConsumeIntegral<uint64_t>();
    p.date_unix_s = fdp.ConsumeIntegral<int32_t>();
    *valid = true;
    const int bad = fdp.ConsumeIntegralInRange(0, 15);
    const int hostile = fdp.PickValueInArray({0, -1, std::numeric_limits<int>::min(), 1001, 4097,
                                              100001, std::numeric_limits<int>::max()});
    const float bad_f = fdp.PickValueInArray({0.0f, -1.0f, 2.0f, std::nanf(""), INFINITY});
    switch (bad) {
        case 0:
            p.epochs = hostile;
            break;
        case 1:
            p.views_per_photo = hostile == 0 ? 65 : hostile;
            break;
        case 2:
            p.batch = hostile == 1001 ? 0 : hostile;
            break;
        case 3:
            p.lr = bad_f;
            break;
        case 4:
            p.weight_decay = bad_f == 0.0f ? -1.0f : bad_f;
            break;
        case 5:
            p.max_photos = hostile == 1001 ? 0 : hostile == 4097 ? -1 : hostile;
            break;
        case 6:
            p.max_new_classes = hostile < 0 ? hostile : -1;
            break;
        case 7:
            p.replay_exemplars = hostile == 0 ? 2 : hostile;
            break;
        default:
            return p;
    }
    *valid = false;
    return p;
}

void check_taught_model(folia_teach_session *s, int classes_before, int new_labels) {
    uint8_t *bytes = nullptr;
    size_t size = 0;
    FOLIA_FUZZ_CHECK(folia_teach_result(s, &bytes, &size) == FOLIA_OK && bytes && size > 0);
    folia::model_file m;
    std::string error;
    FOLIA_FUZZ_CHECK(folia::parse_model_file(bytes, size, &m, &error) == FOLIA_OK);
    folia_context *ctx = nullptr;
    FOLIA_FUZZ_CHECK(folia_init_from_buffer(bytes, size, nullptr, &ctx) == FOLIA_OK);
    FOLIA_FUZZ_CHECK(folia_num_classes(ctx) == classes_before + new_labels);
    classify_small(ctx);
    folia_free(ctx);
    folia_buffer_free(bytes);
    FOLIA_FUZZ_CHECK(folia_teach_summary_json(s)[0] == '{');
}

void drive_teach(FuzzedDataProvider &fdp) {
    bool valid = false;
    const folia_teach_params p = teach_params(fdp, &valid);
    folia_context *base = fdp.ConsumeBool() ? g_ctx_exemplars : g_ctx;
    folia_teach_session *s = nullptr;
    const folia_status st = folia_teach_begin(base, &p, &s);
    FOLIA_FUZZ_CHECK(st == (valid ? FOLIA_OK : FOLIA_ERR_INVALID_ARGUMENT));
    FOLIA_FUZZ_CHECK((st == FOLIA_OK) == (s != nullptr));
    if (!s) return;
    const int photos = fdp.ConsumeIntegralInRange(1, 5);
    cancel_after cancel{fdp.ConsumeBool() ? fdp.ConsumeIntegralInRange(0, 40) : -1};
    const std::vector<uint8_t> bytes = fdp.ConsumeRemainingBytes<uint8_t>();
    int added = 0;
    std::vector<std::string> fresh;
    for (int i = 0; i < photos; ++i) {
        // Photo 0 is all the bytes; later ones are prefixes (truncated files), labels are old,
        // new or hostile (empty, long, control characters, broken UTF-8).
        const size_t n = i == 0 ? bytes.size() : bytes.size() * size_t(i) / size_t(photos);
        static const char *const labels[] = {
            "class_0", "class_2", "mango anthracnose", "leaf \xC3\xA9t\xC3\xA9",
            "",        "bad\x01", "\xC0\xAF",          "\xED\xA0\x80"};
        const std::string label = labels[(size_t(i) * 3 + n) % 8];
        const char *note = i % 2 ? nullptr : "note";
        const folia_status a = folia_teach_add_image(s, label.c_str(), note, bytes.data(), n);
        FOLIA_FUZZ_CHECK(a == FOLIA_OK || a == FOLIA_ERR_TEACH_LIMIT ||
                         a == FOLIA_ERR_TEACH_LABEL || image_status(a));
        if (a != FOLIA_OK) continue;
        ++added;
        if (label.rfind("class_", 0) != 0 &&
            std::find(fresh.begin(), fresh.end(), label) == fresh.end())
            fresh.push_back(label);
    }
    FOLIA_FUZZ_CHECK(added <= p.max_photos && int(fresh.size()) <= p.max_new_classes);
    uint8_t *none = nullptr;
    size_t none_size = 1;
    FOLIA_FUZZ_CHECK(folia_teach_result(s, &none, &none_size) == FOLIA_ERR_TEACH_STATE);
    folia_status r = folia_teach_run(s, progress_cb, &cancel);
    if (added == 0) {
        FOLIA_FUZZ_CHECK(r == FOLIA_ERR_TEACH_EMPTY);
    } else {
        if (r == FOLIA_ERR_CANCELLED) r = folia_teach_run(s, nullptr, nullptr);  // retry
        FOLIA_FUZZ_CHECK(r == FOLIA_OK);
        check_taught_model(s, k_classes, int(fresh.size()));
        FOLIA_FUZZ_CHECK(folia_teach_add_image(s, "class_0", nullptr, bytes.data(), bytes.size()) ==
                         FOLIA_ERR_TEACH_STATE);
    }
    folia_teach_free(s);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    FuzzedDataProvider fdp(data + 1, size - 1);
    switch (data[0] % 5) {
        case 0:
            drive_init(fdp);
            break;
        case 1:
            drive_classify(fdp);
            break;
        case 2:
            drive_classify_image(fdp);
            break;
        case 3:
            drive_teach(fdp);
            break;
        default:
            drive_logits(fdp);
            break;
    }
    return 0;
}
