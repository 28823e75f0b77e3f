// model-file.cpp: parse and write the Folia model file (see model-file.h for the layout).
#include "folia/model-file.h"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <nlohmann/json.hpp>

namespace folia {

namespace {

using json = nlohmann::json;

constexpr size_t k_align = 64;

uint32_t read_u32(const uint8_t *p) {
    return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
}
uint64_t read_u64(const uint8_t *p) {
    return uint64_t(read_u32(p)) | uint64_t(read_u32(p + 4)) << 32;
}
void put_u32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; ++i) p[i] = uint8_t(v >> (8 * i));
}
void put_u64(uint8_t *p, uint64_t v) {
    put_u32(p, uint32_t(v));
    put_u32(p + 4, uint32_t(v >> 32));
}
size_t align_up(size_t n) {
    return (n + k_align - 1) / k_align * k_align;
}

folia_status fail(folia_status s, std::string *error, const std::string &msg) {
    if (error) *error = msg;
    return s;
}

std::string shape_str(const std::vector<int64_t> &s) {
    std::string r = "(";
    for (size_t i = 0; i < s.size(); ++i) r += (i ? "," : "") + std::to_string(s[i]);
    return r + ")";
}

// JSON numbers read strictly. nlohmann's get<int>() / get<float>() convert any number with a
// C++ cast, which is undefined behaviour for a value outside the target's range (fuzz_model_file
// found `"shape": [3.3e96]`). These throw instead; parse_model_file turns that into a status.
int64_t json_integer(const json &v, const char *what, int64_t lo, int64_t hi) {
    int64_t x;
    if (v.is_number_unsigned()) {
        const uint64_t u = v.get<uint64_t>();
        if (u > uint64_t(hi)) throw std::runtime_error(std::string(what) + " out of range");
        x = int64_t(u);
    } else if (v.is_number_integer()) {
        x = v.get<int64_t>();
    } else {
        throw std::runtime_error(std::string(what) + " must be an integer");
    }
    if (x < lo || x > hi) throw std::runtime_error(std::string(what) + " out of range");
    return x;
}

float json_float(const json &v, const char *what) {
    if (!v.is_number()) throw std::runtime_error(std::string(what) + " must be a number");
    const double d = v.get<double>();
    if (!(std::fabs(d) <= double(std::numeric_limits<float>::max())))
        throw std::runtime_error(std::string(what) + " is not a finite float");
    return float(d);
}

float json_float_or(const json &obj, const char *key, float def) {
    return obj.contains(key) ? json_float(obj.at(key), key) : def;
}

std::vector<float> json_floats(const json &v, const char *what) {
    std::vector<float> r;
    for (const json &e : v) r.push_back(json_float(e, what));
    return r;
}

bool host_is_little_endian() {
    const uint16_t one = 1;
    uint8_t b;
    std::memcpy(&b, &one, 1);
    return b == 1;
}

}  // namespace

int64_t tensor_f32::numel() const {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return n;
}

uint32_t crc32(const uint8_t *data, size_t size, uint32_t crc) {
    static uint32_t table[256];
    static bool ready = false;
    if (!ready) {
        for (uint32_t i = 0; i < 256; ++i) {
            uint32_t c = i;
            for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            table[i] = c;
        }
        ready = true;
    }
    crc = ~crc;
    for (size_t i = 0; i < size; ++i) crc = table[(crc ^ data[i]) & 0xFF] ^ (crc >> 8);
    return ~crc;
}

std::vector<std::pair<std::string, std::vector<int64_t>>> expected_tensors(const arch_desc &arch) {
    std::vector<std::pair<std::string, std::vector<int64_t>>> r;
    int64_t in = 3;
    for (size_t i = 0; i < arch.channels.size(); ++i) {
        const int64_t out = arch.channels[i];
        const std::string p = "block" + std::to_string(i) + ".";
        r.push_back({p + "conv.weight", {out, in, 3, 3}});
        r.push_back({p + "conv.bias", {out}});
        for (const char *n : {"bn.weight", "bn.bias", "bn.running_mean", "bn.running_var"})
            r.push_back({p + n, {out}});
        in = out;
    }
    r.push_back({"fc1.weight", {arch.hidden, in}});
    r.push_back({"fc1.bias", {arch.hidden}});
    r.push_back({"fc2.weight", {arch.num_classes, arch.hidden}});
    r.push_back({"fc2.bias", {arch.num_classes}});
    return r;
}

folia_status validate_exemplars(const model_file &m, std::string *error) {
    const auto f = m.tensors.find(k_exemplar_features);
    const auto l = m.tensors.find(k_exemplar_labels);
    const bool has_f = f != m.tensors.end(), has_l = l != m.tensors.end();
    if (!has_f && !has_l) return FOLIA_OK;
    if (!has_f || !has_l)
        return fail(FOLIA_ERR_MODEL_TENSOR, error,
                    std::string("tensor ") + (has_f ? k_exemplar_labels : k_exemplar_features) +
                        " missing (exemplar tensors come in pairs)");
    const int64_t width = m.arch.channels.empty() ? 0 : m.arch.channels.back();
    const tensor_f32 &ft = f->second, &lt = l->second;
    if (ft.shape.size() != 2 || ft.shape[1] != width || int64_t(ft.data.size()) != ft.numel())
        return fail(FOLIA_ERR_MODEL_TENSOR, error,
                    std::string("tensor ") + k_exemplar_features + " has shape " +
                        shape_str(ft.shape) + ", expected (M," + std::to_string(width) + ")");
    if (lt.shape != std::vector<int64_t>{ft.shape[0]} || int64_t(lt.data.size()) != lt.numel())
        return fail(FOLIA_ERR_MODEL_TENSOR, error,
                    std::string("tensor ") + k_exemplar_labels + " has shape " +
                        shape_str(lt.shape) + ", expected (" + std::to_string(ft.shape[0]) + ")");
    for (size_t i = 0; i < lt.data.size(); ++i) {
        const float v = lt.data[i];
        // Integral and in range; written as a float because the payload holds only f32.
        if (!(v >= 0.0f) || !(v < float(m.arch.num_classes)) || float(int64_t(v)) != v)
            return fail(FOLIA_ERR_MODEL_TENSOR, error,
                        std::string("tensor ") + k_exemplar_labels + "[" + std::to_string(i) +
                            "] is not a class index in [0," + std::to_string(m.arch.num_classes) +
                            ")");
    }
    for (float v : ft.data)
        if (!(v - v == 0.0f))
            return fail(FOLIA_ERR_MODEL_TENSOR, error,
                        std::string("tensor ") + k_exemplar_features + " holds a non-finite value");
    return FOLIA_OK;
}

folia_status parse_model_file(const uint8_t *bytes, size_t size, model_file *out,
                              std::string *error) {
    if (!out || (!bytes && size > 0))
        return fail(FOLIA_ERR_INVALID_ARGUMENT, error, "null argument");
    if (size > FOLIA_MAX_MODEL_BYTES)
        return fail(FOLIA_ERR_MODEL_TOO_LARGE, error,
                    "model file has " + std::to_string(size) + " bytes, more than the " +
                        std::to_string(FOLIA_MAX_MODEL_BYTES) + "-byte limit");
    if (size < k_model_fixed_header)
        return fail(
            FOLIA_ERR_MODEL_TOO_SMALL, error,
            "model file has " + std::to_string(size) + " bytes, fewer than the 32-byte header");
    if (std::memcmp(bytes, k_model_magic, 8) != 0)
        return fail(FOLIA_ERR_MODEL_MAGIC, error, "not a Folia model file (bad magic)");
    const uint32_t version = read_u32(bytes + 8);
    if (version != k_model_format_version)
        return fail(FOLIA_ERR_MODEL_VERSION, error,
                    "model format version " + std::to_string(version) + ", this build reads " +
                        std::to_string(k_model_format_version));
    const uint64_t header_size = read_u32(bytes + 12);
    const uint64_t payload_size = read_u64(bytes + 16);
    const uint64_t payload_start = align_up(k_model_fixed_header + header_size);
    if (payload_size > size || payload_start > size || payload_start + payload_size > size)
        return fail(FOLIA_ERR_MODEL_TRUNCATED, error,
                    "model file truncated: header announces " +
                        std::to_string(payload_start + payload_size) + " bytes, got " +
                        std::to_string(size));
    const uint8_t *hdr = bytes + k_model_fixed_header;
    const uint8_t *payload = bytes + payload_start;
    if (crc32(hdr, header_size) != read_u32(bytes + 24))
        return fail(FOLIA_ERR_MODEL_HEADER_CHECKSUM, error, "model header checksum mismatch");
    if (crc32(payload, payload_size) != read_u32(bytes + 28))
        return fail(FOLIA_ERR_MODEL_PAYLOAD_CHECKSUM, error, "model payload checksum mismatch");

    model_file m;
    try {
        const json j = json::parse(hdr, hdr + header_size);
        const json &a = j.at("arch");
        m.arch.name = a.at("name").get<std::string>();
        if (m.arch.name != "folia-cnn4")
            return fail(FOLIA_ERR_MODEL_ARCH, error, "unknown architecture '" + m.arch.name + "'");
        if (!a.at("channels").is_array()) throw std::runtime_error("arch.channels: not an array");
        m.arch.channels.clear();  // arch_desc defaults to the shipped widths
        for (const json &c : a.at("channels"))
            m.arch.channels.push_back(int(json_integer(c, "arch.channels", -1, 1 << 30)));
        m.arch.hidden = int(json_integer(a.at("hidden"), "arch.hidden", -1, 1 << 30));
        m.arch.num_classes =
            int(json_integer(a.at("num_classes"), "arch.num_classes", -1, 1 << 30));
        m.arch.bn_eps = json_float_or(a, "bn_eps", 1e-5f);
        if (m.arch.channels.empty() || m.arch.channels.size() > 8 || m.arch.hidden <= 0 ||
            m.arch.num_classes <= 0 || m.arch.num_classes > 100000)
            return fail(FOLIA_ERR_MODEL_ARCH, error, "architecture sizes out of range");
        for (int c : m.arch.channels)
            if (c <= 0 || c > 4096) return fail(FOLIA_ERR_MODEL_ARCH, error, "bad channel count");
        m.labels = j.at("labels").get<std::vector<std::string>>();
        if (int(m.labels.size()) != m.arch.num_classes)
            return fail(FOLIA_ERR_MODEL_HEADER, error,
                        std::to_string(m.labels.size()) + " labels for " +
                            std::to_string(m.arch.num_classes) + " classes");
        const json &p = j.at("preprocess");
        m.preprocess.input_size =
            int(json_integer(p.at("input_size"), "preprocess.input_size", -1, 1 << 30));
        const auto mean = json_floats(p.at("mean"), "preprocess.mean");
        const auto stdv = json_floats(p.at("std"), "preprocess.std");
        m.preprocess.resize = p.at("resize").get<std::string>();
        if (mean.size() != 3 || stdv.size() != 3 || m.preprocess.input_size < 8 ||
            m.preprocess.input_size > 1024 || m.preprocess.resize != "pillow-bilinear")
            return fail(FOLIA_ERR_MODEL_HEADER, error, "bad preprocess section");
        for (int c = 0; c < 3; ++c) {
            m.preprocess.mean[c] = mean[c];
            m.preprocess.std[c] = stdv[c];
            if (!(stdv[c] > 0)) return fail(FOLIA_ERR_MODEL_HEADER, error, "std must be > 0");
        }
        if (j.contains("calibration")) {
            m.calibration.temperature = json_float_or(j["calibration"], "temperature", 1.0f);
            m.calibration.abstain_threshold =
                json_float_or(j["calibration"], "abstain_threshold", 0.0f);
            if (!(m.calibration.temperature > 0))
                return fail(FOLIA_ERR_MODEL_HEADER, error, "temperature must be > 0");
        }
        if (j.contains("meta")) m.meta_json = j["meta"].dump();

        for (const json &t : j.at("tensors")) {
            tensor_f32 tf;
            const std::string name = t.at("name").get<std::string>();
            if (!t.at("shape").is_array()) throw std::runtime_error("tensor shape: not an array");
            for (const json &d : t.at("shape"))
                tf.shape.push_back(json_integer(d, "tensor shape", INT64_MIN, INT64_MAX));
            const uint64_t off =
                uint64_t(json_integer(t.at("offset"), "tensor offset", 0, INT64_MAX));
            int64_t n = 1;
            for (int64_t d : tf.shape) {
                if (d <= 0 || d > (1 << 24))
                    return fail(FOLIA_ERR_MODEL_TENSOR, error, "tensor " + name + ": bad shape");
                n *= d;
                if (n > (int64_t(1) << 31))
                    return fail(FOLIA_ERR_MODEL_TENSOR, error, "tensor " + name + ": too large");
            }
            if (off > payload_size || uint64_t(n) * 4 > payload_size - off)
                return fail(FOLIA_ERR_MODEL_TENSOR, error,
                            "tensor " + name + " lies outside the payload");
            tf.data.resize(size_t(n));
            std::memcpy(tf.data.data(), payload + off, size_t(n) * 4);
            if (!host_is_little_endian())
                for (float &f : tf.data) {
                    uint32_t u;
                    std::memcpy(&u, &f, 4);
                    u = __builtin_bswap32(u);
                    std::memcpy(&f, &u, 4);
                }
            m.tensors[name] = std::move(tf);
        }
    } catch (const std::exception &e) {
        return fail(FOLIA_ERR_MODEL_HEADER, error, std::string("model header: ") + e.what());
    }
    for (const auto &[name, shape] : expected_tensors(m.arch)) {
        auto it = m.tensors.find(name);
        if (it == m.tensors.end())
            return fail(FOLIA_ERR_MODEL_TENSOR, error, "tensor " + name + " missing");
        if (it->second.shape != shape)
            return fail(FOLIA_ERR_MODEL_TENSOR, error,
                        "tensor " + name + " has shape " + shape_str(it->second.shape) +
                            ", expected " + shape_str(shape));
    }
    const folia_status ex = validate_exemplars(m, error);
    if (ex != FOLIA_OK) return ex;
    *out = std::move(m);
    return FOLIA_OK;
}

json model_header_json(const model_file &m) {
    json j;
    j["arch"] = {{"name", m.arch.name},
                 {"channels", m.arch.channels},
                 {"hidden", m.arch.hidden},
                 {"num_classes", m.arch.num_classes},
                 {"bn_eps", m.arch.bn_eps}};
    j["labels"] = m.labels;
    j["preprocess"] = {{"input_size", m.preprocess.input_size},
                       {"mean", {m.preprocess.mean[0], m.preprocess.mean[1], m.preprocess.mean[2]}},
                       {"std", {m.preprocess.std[0], m.preprocess.std[1], m.preprocess.std[2]}},
                       {"resize", m.preprocess.resize}};
    j["calibration"] = {{"temperature", m.calibration.temperature},
                        {"abstain_threshold", m.calibration.abstain_threshold}};
    return j;
}

folia_status write_model_file(const model_file &m, std::vector<uint8_t> *out, std::string *error) {
    if (!out) return fail(FOLIA_ERR_INVALID_ARGUMENT, error, "null output");
    if (int(m.labels.size()) != m.arch.num_classes)
        return fail(FOLIA_ERR_MODEL_HEADER, error, "labels count != num_classes");
    const folia_status ex = validate_exemplars(m, error);
    if (ex != FOLIA_OK) return ex;
    json tensors = json::array();
    std::vector<uint8_t> payload;
    auto append = [&](const std::string &name, const tensor_f32 &t) {
        const size_t off = payload.size();
        payload.resize(align_up(off + t.data.size() * 4), 0);
        for (size_t i = 0; i < t.data.size(); ++i) {
            uint32_t u;
            std::memcpy(&u, &t.data[i], 4);
            put_u32(payload.data() + off + 4 * i, u);
        }
        tensors.push_back({{"name", name}, {"shape", t.shape}, {"offset", off}});
    };
    const auto expected = expected_tensors(m.arch);
    for (const auto &[name, shape] : expected) {
        auto it = m.tensors.find(name);
        if (it == m.tensors.end())
            return fail(FOLIA_ERR_MODEL_TENSOR, error, "tensor " + name + " missing");
        const tensor_f32 &t = it->second;
        if (t.shape != shape || int64_t(t.data.size()) != t.numel())
            return fail(FOLIA_ERR_MODEL_TENSOR, error,
                        "tensor " + name + " has shape " + shape_str(t.shape) + ", expected " +
                            shape_str(shape));
        append(name, t);
    }
    // Extra tensors (exemplars, anything a newer writer added) follow in name order, so a
    // read-modify-write keeps them.
    for (const auto &[name, t] : m.tensors) {
        bool known = false;
        for (const auto &e : expected) known = known || e.first == name;
        if (known) continue;
        if (t.shape.empty() || int64_t(t.data.size()) != t.numel())
            return fail(FOLIA_ERR_MODEL_TENSOR, error, "tensor " + name + ": bad shape");
        append(name, t);
    }
    json j = model_header_json(m);
    try {
        j["meta"] = json::parse(m.meta_json);
    } catch (const std::exception &e) {
        return fail(FOLIA_ERR_MODEL_HEADER, error, std::string("meta is not JSON: ") + e.what());
    }
    j["tensors"] = tensors;
    const std::string hdr = j.dump();
    const size_t payload_start = align_up(k_model_fixed_header + hdr.size());
    // Never write a file that parse_model_file would refuse.
    if (payload_start + payload.size() > FOLIA_MAX_MODEL_BYTES)
        return fail(FOLIA_ERR_MODEL_TOO_LARGE, error,
                    "model file would have " + std::to_string(payload_start + payload.size()) +
                        " bytes, more than the " + std::to_string(FOLIA_MAX_MODEL_BYTES) +
                        "-byte limit");
    out->assign(payload_start + payload.size(), 0);
    uint8_t *b = out->data();
    std::memcpy(b, k_model_magic, 8);
    put_u32(b + 8, k_model_format_version);
    put_u32(b + 12, uint32_t(hdr.size()));
    put_u64(b + 16, payload.size());
    put_u32(b + 24, crc32(reinterpret_cast<const uint8_t *>(hdr.data()), hdr.size()));
    put_u32(b + 28, crc32(payload.data(), payload.size()));
    std::memcpy(b + k_model_fixed_header, hdr.data(), hdr.size());
    std::memcpy(b + payload_start, payload.data(), payload.size());
    return FOLIA_OK;
}

}  // namespace folia
