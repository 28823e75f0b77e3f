// folia-teach-api.cpp: on-device teaching (folia_teach_* of folia.h). The photos' trunk features
// come from a features-only XNNPACK runtime, the head is trained by head-train.cpp, and the
// result is written by the shared model-file writer. No file I/O, no platform code.
//
// Calibration choice: the result keeps the base model's temperature and abstain threshold. The
// head is fine-tuned from a calibrated start with a small learning rate and, when the model file
// carries exemplars, replay of the old classes, so its logit scale stays close to the base's; a
// refit of T on a few dozen taught views would be noisier than the base fit on thousands of
// validation images (and views of the taught photos are not held out). The summary reports the
// mean confidence on the taught view-0 features so a caller can see when that assumption fails.
#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "../engine/xnnpack-graph.h"
#include "folia.h"
#include "folia/augment.h"
#include "folia/model-file.h"
#include "folia/preprocess.h"
#include "head-train.h"
#include "teach-internal.h"

namespace {

using json = nlohmann::ordered_json;
using folia::teach::head;
using folia::teach::splitmix64;

constexpr size_t k_max_label_bytes = 64;
constexpr size_t k_max_note_bytes = 1024;
constexpr int k_keep_per_label = 20;  // taught view-0 features kept as exemplars per session
constexpr float k_dropout = 0.3f;
constexpr float k_features_share = 0.4f;  // progress fraction spent computing features

}  // namespace

// JavaScript fills folia_teach_params in wasm memory by offset; wasm32 and the 64-bit native
// ABIs lay it out identically (u64 aligned to 8), and these pin that layout.
static_assert(offsetof(folia_teach_params, lr) == 12 && offsetof(folia_teach_params, seed) == 24 &&
                  offsetof(folia_teach_params, max_photos) == 32 &&
                  offsetof(folia_teach_params, replay_exemplars) == 40 &&
                  offsetof(folia_teach_params, date_unix_s) == 48 &&
                  sizeof(folia_teach_params) == 56,
              "folia_teach_params layout changed: update wasm/ callers");

struct folia_teach_session {
    folia_teach_params p{};
    std::shared_ptr<const folia::model_file> base;
    uint32_t base_crc32 = 0;
    size_t max_pixels = 0;
    int feature_batch = 1;
    int old_classes = 0;
    std::unique_ptr<folia::engine::xnnpack_graph> trunk;  // features-only runtime
    std::vector<std::string> labels;                      // old labels, then new ones
    std::vector<std::string> new_labels;
    struct photo {
        int label = 0;
        folia::image_u8 img;  // (S, S, 3) u8, already resized to the model's input
    };
    std::vector<photo> photos;
    std::map<std::string, int> taught;  // label -> photos added this session
    std::map<std::string, std::string> notes;
    bool done = false;
    std::vector<uint8_t> result;
    std::string summary = "{}";
};

namespace {

bool valid_params(const folia_teach_params &p) {
    return p.epochs >= 1 && p.epochs <= 1000 && p.views_per_photo >= 1 && p.views_per_photo <= 64 &&
           p.batch >= 1 && p.batch <= 4096 && p.lr > 0.0f && p.lr <= 1.0f &&
           p.weight_decay >= 0.0f && p.weight_decay <= 1.0f && p.max_photos >= 1 &&
           p.max_photos <= FOLIA_TEACH_MAX_PHOTOS && p.max_new_classes >= 0 &&
           p.max_new_classes <= 4096 && (p.replay_exemplars == 0 || p.replay_exemplars == 1);
}

// Strict UTF-8 (no overlongs, no surrogates) without control characters (C0, DEL).
bool valid_utf8_text(const std::string &s) {
    for (size_t i = 0; i < s.size();) {
        const unsigned char c = static_cast<unsigned char>(s[i]);
        if (c < 0x20 || c == 0x7F) return false;
        if (c < 0x80) {
            ++i;
            continue;
        }
        const int n = c >= 0xC2 && c <= 0xDF   ? 1
                      : c >= 0xE0 && c <= 0xEF ? 2
                      : c >= 0xF0 && c <= 0xF4 ? 3
                                               : -1;
        if (n < 0 || i + size_t(n) >= s.size()) return false;
        uint32_t cp = c & (0x3F >> n);
        for (int k = 1; k <= n; ++k) {
            const unsigned char d = static_cast<unsigned char>(s[i + size_t(k)]);
            if ((d & 0xC0) != 0x80) return false;
            cp = cp << 6 | (d & 0x3F);
        }
        if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10FFFF)) ||
            (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        i += size_t(n) + 1;
    }
    return true;
}

// Seconds since 1970 (UTC) as ISO-8601 "YYYY-MM-DDTHH:MM:SSZ", by Hinnant's civil_from_days:
// integers only, no time zone database, identical on every target.
std::string iso_utc(int64_t t) {
    int64_t days = t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
    const int64_t sec = t - days * 86400;
    days += 719468;
    const int64_t era = (days >= 0 ? days : days - 146096) / 146097;
    const int64_t doe = days - era * 146097;
    const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const int64_t mp = (5 * doy + 2) / 153;
    const int64_t d = doy - (153 * mp + 2) / 5 + 1;
    const int64_t m = mp < 10 ? mp + 3 : mp - 9;
    const int64_t y = yoe + era * 400 + (m <= 2);
    char buf[40];
    std::snprintf(buf, sizeof buf, "%04lld-%02lld-%02lldT%02lld:%02lld:%02lldZ", (long long)y,
                  (long long)m, (long long)d, (long long)(sec / 3600), (long long)(sec / 60 % 60),
                  (long long)(sec % 60));
    return buf;
}

// Seed of view v of photo i: a distinct splitmix64 stream per (seed, photo, view).
uint64_t view_seed(uint64_t seed, size_t photo, int view) {
    splitmix64 r{seed ^
                 (uint64_t(photo) * 0x100000001B3ull + uint64_t(view) * 0x9E3779B97F4A7C15ull)};
    return r.next();
}

}  // namespace

namespace {

// Everything one run trains on. feats (rows, C) f32 holds the taught views (photo-major, view 0
// first) followed by the replayed exemplars; label[r] is the class of row r.
struct training_set {
    int width = 0;  // C: trunk feature width
    std::vector<float> feats;
    std::vector<int> label;
    size_t taught_rows = 0;
    size_t replayed_rows = 0;
};

// Runs every view of every photo through the trunk, feature_batch images at a time.
folia_status compute_features(folia_teach_session *s, folia_teach_progress_fn progress, void *user,
                              training_set *ts) {
    auto &g = *s->trunk;
    const int views = s->p.views_per_photo;
    const size_t total = s->photos.size() * size_t(views), C = size_t(g.num_outputs());
    const size_t per_image = g.input_floats_per_image();
    const folia::preprocess_desc &pre = s->base->preprocess;
    const folia::augment_params aug;  // the training recipe's defaults
    ts->width = int(C);
    ts->feats.assign(total * C, 0.0f);
    ts->label.resize(total);
    for (size_t done = 0; done < total;) {
        const int n = int(std::min(total - done, size_t(s->feature_batch)));
        float *x = g.input_buffer(n);
        if (!x) return FOLIA_ERR_OUT_OF_MEMORY;
        for (int b = 0; b < n; ++b) {
            const size_t row = done + size_t(b), ph = row / size_t(views);
            const int v = int(row % size_t(views));
            const auto &photo = s->photos[ph];
            ts->label[row] = photo.label;
            const folia::image_u8 img =
                v == 0 ? photo.img
                       : folia::augment_image(photo.img, aug, view_seed(s->p.seed, ph, v));
            folia::normalize_nhwc(img, pre.mean, pre.std, x + size_t(b) * per_image);
        }
        const folia_status st = g.run(n, ts->feats.data() + done * C, nullptr);
        if (st != FOLIA_OK) return st;
        done += size_t(n);
        if (progress && progress(k_features_share * float(done) / float(total), 0.0f, user))
            return FOLIA_ERR_CANCELLED;
    }
    ts->taught_rows = total;
    return FOLIA_OK;
}

// Appends the model file's exemplars (replay) to the training set.
void add_replay(const folia::model_file &m, training_set *ts) {
    const auto f = m.tensors.find(folia::k_exemplar_features);
    const auto l = m.tensors.find(folia::k_exemplar_labels);
    if (f == m.tensors.end() || l == m.tensors.end()) return;
    ts->feats.insert(ts->feats.end(), f->second.data.begin(), f->second.data.end());
    for (float v : l->second.data) ts->label.push_back(int(v));
    ts->replayed_rows = l->second.data.size();
}

head<float> base_head(const folia::model_file &m) {
    head<float> h;
    h.in = m.arch.channels.back();
    h.hidden = m.arch.hidden;
    h.classes = m.arch.num_classes;
    h.w1 = m.tensors.at("fc1.weight").data;
    h.b1 = m.tensors.at("fc1.bias").data;
    h.w2 = m.tensors.at("fc2.weight").data;
    h.b2 = m.tensors.at("fc2.bias").data;
    return h;
}

// New classes get fc2 rows from the mean fc1 activation of their photos' view-0 features.
void grow_for_new_classes(const folia_teach_session &s, const training_set &ts, head<float> *h) {
    const int fresh = int(s.new_labels.size());
    if (fresh == 0) return;
    const size_t H = size_t(h->hidden), C = size_t(ts.width);
    std::vector<float> mean_h(size_t(fresh) * H, 0.0f);
    std::vector<int> count(size_t(fresh), 0);
    folia::teach::head_cache<float> cache;
    const size_t views = size_t(s.p.views_per_photo);
    for (size_t r = 0; r < ts.taught_rows; r += views) {  // view 0 of each photo
        const int c = ts.label[r] - s.old_classes;
        if (c < 0) continue;
        folia::teach::head_forward(*h, ts.feats.data() + r * C, 1,
                                   static_cast<const float *>(nullptr), &cache);
        for (size_t j = 0; j < H; ++j) mean_h[size_t(c) * H + j] += cache.relu[j];
        ++count[size_t(c)];
    }
    for (int c = 0; c < fresh; ++c)
        for (size_t j = 0; j < H; ++j)
            mean_h[size_t(c) * H + j] /= float(count[size_t(c)] > 0 ? count[size_t(c)] : 1);
    folia::teach::grow_head(h, mean_h, fresh);
}

}  // namespace

namespace {

// Without replay the only negatives of a new class are the other taught classes, so its row
// would keep growing along directions every leaf shares; views the head already gets right with
// p >= k_confident stop pushing (their gradient rows are zeroed). dlogits is (B, classes) and
// holds (p - onehot) / B, so p_y = B * dlogits[y] + 1.
constexpr float k_confident = 0.9f;
void cap_confident(const std::vector<int> &y, int classes, std::vector<float> *dlogits) {
    const size_t B = y.size(), N = size_t(classes);
    for (size_t b = 0; b < B; ++b) {
        float *d = dlogits->data() + b * N;
        if (float(B) * d[y[b]] + 1.0f < k_confident) continue;
        for (size_t k = 0; k < N; ++k) d[k] = 0.0f;
    }
}

struct train_report {
    int64_t steps = 0;
    float last_epoch_loss = 0.0f;
    bool trained_fc1 = false;
};

// Class-balanced minibatches: each slot draws a class uniformly among those with rows, then a
// row of it. Without replay nothing holds the untaught classes in place, so only the fc2 rows
// of the taught classes move (fc1 and every other row stay as they were): measured on the
// shipped model, training everything without replay took PlantVillage test top-1 from 0.94 to
// 0.14 after 10 mango photos per class (tools/teach-eval.py).
folia_status train_head(const folia_teach_session &s, const training_set &ts, head<float> *h,
                        folia_teach_progress_fn progress, void *user, train_report *rep) {
    const size_t rows = ts.label.size(), C = size_t(ts.width), H = size_t(h->hidden);
    std::vector<std::vector<uint32_t>> members(size_t(h->classes));
    for (size_t r = 0; r < rows; ++r) members[size_t(ts.label[r])].push_back(uint32_t(r));
    std::vector<uint32_t> present;
    for (size_t c = 0; c < members.size(); ++c)
        if (!members[c].empty()) present.push_back(uint32_t(c));
    const int B = s.p.batch;
    const int64_t per_epoch = int64_t((rows + size_t(B) - 1) / size_t(B));
    const int64_t steps = per_epoch * s.p.epochs;
    folia::teach::adam_state adam;
    adam.lr = s.p.lr;
    adam.weight_decay = s.p.weight_decay;
    adam.train_fc1 = ts.replayed_rows > 0;
    if (!adam.train_fc1) {
        adam.fc2_rows.assign(size_t(h->classes), 0);
        for (uint32_t c : present) adam.fc2_rows[c] = 1;
    }
    rep->trained_fc1 = adam.train_fc1;
    splitmix64 rng{s.p.seed ^ 0xD1B54A32D192ED03ull};
    std::vector<float> x(size_t(B) * C), mask(size_t(B) * H), dlogits;
    std::vector<int> y(static_cast<size_t>(B));
    folia::teach::head_cache<float> cache;
    head<float> grad;
    const float keep_scale = 1.0f / (1.0f - k_dropout);
    const int64_t report_every = std::max<int64_t>(1, steps / 200);
    double epoch_loss = 0.0;
    for (int64_t step = 0; step < steps; ++step) {
        for (int b = 0; b < B; ++b) {
            const auto &m = members[present[rng.below(uint32_t(present.size()))]];
            const uint32_t r = m[rng.below(uint32_t(m.size()))];
            y[size_t(b)] = ts.label[r];
            std::memcpy(x.data() + size_t(b) * C, ts.feats.data() + size_t(r) * C, C * 4);
        }
        for (float &v : mask) v = rng.uniform() < k_dropout ? 0.0f : keep_scale;
        folia::teach::head_forward(*h, x.data(), B, mask.data(), &cache);
        dlogits.resize(cache.logits.size());
        const float loss = folia::teach::softmax_cross_entropy(cache.logits.data(), y.data(), B,
                                                               h->classes, dlogits.data());
        if (!adam.train_fc1) cap_confident(y, h->classes, &dlogits);
        folia::teach::head_backward(*h, x.data(), mask.data(), cache, dlogits.data(), &grad);
        adam.step(h, grad);
        epoch_loss += double(loss);
        if ((step + 1) % per_epoch == 0) {
            rep->last_epoch_loss = float(epoch_loss / double(per_epoch));
            epoch_loss = 0.0;
        }
        if (progress && ((step + 1) % report_every == 0 || step + 1 == steps) &&
            progress(k_features_share + (1.0f - k_features_share) * float(step + 1) / float(steps),
                     loss, user))
            return FOLIA_ERR_CANCELLED;
    }
    rep->steps = steps;
    return FOLIA_OK;
}

folia::tensor_f32 tensor_of(std::vector<int64_t> shape, std::vector<float> data) {
    folia::tensor_f32 t;
    t.shape = std::move(shape);
    t.data = std::move(data);
    return t;
}

// Base exemplars plus up to k_keep_per_label view-0 features of each taught label, so a later
// session replays what this one taught.
void keep_exemplars(const folia_teach_session &s, const training_set &ts, folia::model_file *m) {
    std::vector<float> feats, labels;
    const auto f = m->tensors.find(folia::k_exemplar_features);
    const auto l = m->tensors.find(folia::k_exemplar_labels);
    if (f != m->tensors.end() && l != m->tensors.end()) {
        feats = f->second.data;
        labels = l->second.data;
    }
    const size_t C = size_t(ts.width), views = size_t(s.p.views_per_photo);
    std::map<int, int> kept;
    for (size_t r = 0; r < ts.taught_rows; r += views) {
        if (kept[ts.label[r]]++ >= k_keep_per_label) continue;
        feats.insert(feats.end(), ts.feats.begin() + long(r * C),
                     ts.feats.begin() + long((r + 1) * C));
        labels.push_back(float(ts.label[r]));
    }
    if (labels.empty()) return;
    const int64_t M = int64_t(labels.size());
    m->tensors[folia::k_exemplar_features] = tensor_of({M, int64_t(C)}, std::move(feats));
    m->tensors[folia::k_exemplar_labels] = tensor_of({M}, std::move(labels));
}

}  // namespace

namespace {

// meta of the result: the base's meta with the personalisation fields; taught counts, notes and
// new classes accumulate over sessions when the base was itself personalised.
std::string personalised_meta(const folia_teach_session &s) {
    json meta = json::object();
    try {
        const json base = json::parse(s.base->meta_json);
        if (base.is_object()) meta = base;
    } catch (const std::exception &) {
    }
    json taught =
        meta.contains("taught") && meta["taught"].is_object() ? meta["taught"] : json::object();
    for (const auto &[label, n] : s.taught)
        taught[label] = (taught.contains(label) && taught[label].is_number_integer()
                             ? taught[label].get<int64_t>()
                             : 0) +
                        n;
    json fresh = meta.contains("new_classes") && meta["new_classes"].is_array()
                     ? meta["new_classes"]
                     : json::array();
    for (const std::string &l : s.new_labels) fresh.push_back(l);
    json notes =
        meta.contains("notes") && meta["notes"].is_object() ? meta["notes"] : json::object();
    for (const auto &[label, note] : s.notes) notes[label] = note;
    const int64_t t = s.p.date_unix_s != 0 ? s.p.date_unix_s : int64_t(std::time(nullptr));
    meta["personalised"] = true;
    meta["base_model_crc32"] = s.base_crc32;
    meta["taught"] = taught;
    meta["new_classes"] = fresh;
    meta["date"] = iso_utc(t);
    meta["notes"] = notes;
    meta["calibration"] = "base temperature and abstain threshold kept";
    return meta.dump();
}

folia_status build_result(folia_teach_session *s, const training_set &ts, const head<float> &h,
                          const train_report &rep, double ms) {
    folia::model_file m = *s->base;
    m.labels = s->labels;
    m.arch.num_classes = h.classes;
    m.tensors["fc1.weight"] = tensor_of({h.hidden, h.in}, h.w1);
    m.tensors["fc1.bias"] = tensor_of({h.hidden}, h.b1);
    m.tensors["fc2.weight"] = tensor_of({h.classes, h.hidden}, h.w2);
    m.tensors["fc2.bias"] = tensor_of({h.classes}, h.b2);
    keep_exemplars(*s, ts, &m);
    m.meta_json = personalised_meta(*s);
    std::vector<uint8_t> bytes;
    const folia_status st = folia::write_model_file(m, &bytes);
    if (st != FOLIA_OK) return st;
    s->result = std::move(bytes);
    json j;
    j["classes"] = h.classes;
    j["new_classes"] = s->new_labels;
    j["examples"] = s->photos.size();
    j["views"] = ts.taught_rows;
    j["replayed"] = ts.replayed_rows;
    j["steps"] = rep.steps;
    j["trained"] = rep.trained_fc1 ? "fc1+fc2" : "fc2 rows of the taught classes";
    j["loss"] = rep.last_epoch_loss;
    j["ms"] = double(int64_t(ms * 10.0 + 0.5)) / 10.0;
    j["taught"] = s->taught;
    j["bytes"] = s->result.size();
    s->summary = j.dump();
    return FOLIA_OK;
}

folia_status run_session(folia_teach_session *s, folia_teach_progress_fn progress, void *user) {
    const auto t0 = std::chrono::steady_clock::now();
    training_set ts;
    folia_status st = compute_features(s, progress, user, &ts);
    if (st != FOLIA_OK) return st;
    if (s->p.replay_exemplars) add_replay(*s->base, &ts);
    head<float> h = base_head(*s->base);
    grow_for_new_classes(*s, ts, &h);
    train_report rep;
    st = train_head(*s, ts, &h, progress, user, &rep);
    if (st != FOLIA_OK) return st;
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    return build_result(s, ts, h, rep, ms);
}

// Maps exceptions at the C boundary to statuses: nothing escapes into C or JavaScript.
template <class F>
folia_status guarded(F &&f) {
    try {
        return f();
    } catch (const std::bad_alloc &) {
        return FOLIA_ERR_OUT_OF_MEMORY;
    } catch (...) {
        return FOLIA_ERR_ENGINE;
    }
}

}  // namespace

extern "C" {

folia_teach_params folia_default_teach_params(void) {
    folia_teach_params p;
    std::memset(&p, 0, sizeof p);
    p.epochs = 30;
    p.views_per_photo = 8;
    p.batch = 32;
    p.lr = 1e-3f;
    p.weight_decay = 1e-4f;
    p.seed = 42;
    p.max_photos = 500;
    p.max_new_classes = 8;
    p.replay_exemplars = 1;
    p.date_unix_s = 0;
    return p;
}

folia_status folia_teach_begin(folia_context *ctx, const folia_teach_params *params,
                               folia_teach_session **out) {
    if (!out) return FOLIA_ERR_INVALID_ARGUMENT;
    *out = nullptr;
    if (!ctx) return FOLIA_ERR_INVALID_ARGUMENT;
    const folia_teach_params p = params ? *params : folia_default_teach_params();
    if (!valid_params(p)) return FOLIA_ERR_INVALID_ARGUMENT;
    return guarded([&] {
        namespace ti = folia::teach_internal;
        auto s = std::make_unique<folia_teach_session>();
        s->p = p;
        s->base = ti::context_model(ctx);
        if (!s->base) return FOLIA_ERR_INVALID_ARGUMENT;
        s->base_crc32 = ti::context_model_crc32(ctx);
        s->max_pixels = ti::context_max_pixels(ctx);
        s->feature_batch = std::min(32, ti::context_max_batch(ctx));
        s->labels = s->base->labels;
        s->old_classes = int(s->labels.size());
        const folia_status st = folia::engine::xnnpack_graph::create(
            folia::engine::fold_model(*s->base), ti::context_threads(ctx), /*profile=*/false,
            &s->trunk, nullptr, folia::engine::graph_output::features);
        if (st != FOLIA_OK) return st;
        *out = s.release();
        return FOLIA_OK;
    });
}

folia_status folia_teach_add_image(folia_teach_session *s, const char *label, const char *note,
                                   const void *bytes, size_t size) {
    if (!s || !label || (!bytes && size > 0)) return FOLIA_ERR_INVALID_ARGUMENT;
    if (s->done) return FOLIA_ERR_TEACH_STATE;
    const std::string name = label;
    if (name.empty() || name.size() > k_max_label_bytes || !valid_utf8_text(name))
        return FOLIA_ERR_TEACH_LABEL;
    if (note && (std::strlen(note) > k_max_note_bytes || !valid_utf8_text(note)))
        return FOLIA_ERR_INVALID_ARGUMENT;
    if (int(s->photos.size()) >= s->p.max_photos) return FOLIA_ERR_TEACH_LIMIT;
    // The trunk features of every view are held at once (1 KiB each at C = 256).
    if (int64_t(s->photos.size() + 1) * s->p.views_per_photo > FOLIA_TEACH_MAX_VIEWS)
        return FOLIA_ERR_TEACH_LIMIT;
    const auto known = std::find(s->labels.begin(), s->labels.end(), name);
    if (known == s->labels.end() && int(s->new_labels.size()) >= s->p.max_new_classes)
        return FOLIA_ERR_TEACH_LIMIT;
    if (size == 0) return FOLIA_ERR_IMAGE_EMPTY;
    return guarded([&] {
        folia_teach_session::photo ph;
        const int S = s->base->preprocess.input_size;
        folia_status st = folia::preprocess_image(static_cast<const uint8_t *>(bytes), size,
                                                  s->max_pixels, S, &ph.img);
        if (st != FOLIA_OK) return st;
        if (ph.img.channels != 3) return FOLIA_ERR_IMAGE_UNSUPPORTED;
        // Only now, with the photo accepted, does an unknown label become a class.
        ph.label = int(std::find(s->labels.begin(), s->labels.end(), name) - s->labels.begin());
        if (ph.label == int(s->labels.size())) {
            s->labels.push_back(name);
            s->new_labels.push_back(name);
        }
        s->photos.push_back(std::move(ph));
        ++s->taught[name];
        if (note && *note) s->notes[name] = note;
        return FOLIA_OK;
    });
}

folia_status folia_teach_run(folia_teach_session *s, folia_teach_progress_fn progress, void *user) {
    if (!s) return FOLIA_ERR_INVALID_ARGUMENT;
    if (s->done) return FOLIA_ERR_TEACH_STATE;
    if (s->photos.empty()) return FOLIA_ERR_TEACH_EMPTY;
    const folia_status st = guarded([&] { return run_session(s, progress, user); });
    s->done = st == FOLIA_OK;  // a cancelled or failed run may be retried
    return st;
}

folia_status folia_teach_result(folia_teach_session *s, uint8_t **out_bytes, size_t *out_size) {
    if (!s || !out_bytes || !out_size) return FOLIA_ERR_INVALID_ARGUMENT;
    *out_bytes = nullptr;
    *out_size = 0;
    if (!s->done) return FOLIA_ERR_TEACH_STATE;
    auto *b = static_cast<uint8_t *>(std::malloc(s->result.size()));
    if (!b) return FOLIA_ERR_OUT_OF_MEMORY;
    std::memcpy(b, s->result.data(), s->result.size());
    *out_bytes = b;
    *out_size = s->result.size();
    return FOLIA_OK;
}

void folia_buffer_free(void *p) {
    std::free(p);
}

const char *folia_teach_summary_json(folia_teach_session *s) {
    return s ? s->summary.c_str() : "{}";
}

void folia_teach_free(folia_teach_session *s) {
    delete s;
}

}  // extern "C"
