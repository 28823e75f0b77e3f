// model-file.h: the Folia model file, read from and written to memory (never files).
//
// Layout (all integers little-endian):
//   0   char[8]  magic "FOLIAMDL"
//   8   u32      format version (k_model_format_version)
//   12  u32      header_size: bytes of the UTF-8 JSON header that follows the fixed part
//   16  u64      payload_size: bytes of tensor data after the header (+ padding)
//   24  u32      crc32 of the JSON header bytes
//   28  u32      crc32 of the payload bytes
//   32  header JSON, then zero padding to a multiple of 64, then the payload.
// The JSON header holds: "arch" (descriptor), "labels", "preprocess" (input size, mean, std,
// resize filter), "calibration" (temperature, abstain threshold), "meta" (free-form: training
// run, date...), and "tensors": [{name, shape, offset}] with offsets into the payload
// (64-byte aligned) of little-endian f32 data.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "folia.h"

namespace folia {

inline constexpr char k_model_magic[8] = {'F', 'O', 'L', 'I', 'A', 'M', 'D', 'L'};
inline constexpr uint32_t k_model_format_version = 1;
inline constexpr size_t k_model_fixed_header = 32;

struct tensor_f32 {
    std::vector<int64_t> shape;
    std::vector<float> data;
    int64_t numel() const;
};

// The network (README.md, "Model file format"): conv blocks with the given widths (3x3 same, BN,
// ReLU, maxpool 2), global average pool, FC hidden, ReLU, dropout, FC num_classes.
struct arch_desc {
    std::string name = "folia-cnn4";
    std::vector<int> channels = {32, 64, 128, 256};
    int hidden = 256;
    int num_classes = 0;
    float bn_eps = 1e-5f;
};

struct preprocess_desc {
    int input_size = 128;
    float mean[3] = {0.485f, 0.456f, 0.406f};
    float std[3] = {0.229f, 0.224f, 0.225f};
    std::string resize = "pillow-bilinear";
};

struct calibration_desc {
    float temperature = 1.0f;
    float abstain_threshold = 0.0f;  // 0: never abstain
};

// Tensor names (PyTorch state_dict style, OIHW / (out, in) layouts):
//   block{i}.conv.weight (C_out, C_in, 3, 3), block{i}.conv.bias (C_out),
//   block{i}.bn.{weight,bias,running_mean,running_var} (C_out)   for i = 0..3
//   fc1.weight (hidden, C_last), fc1.bias (hidden), fc2.weight (N, hidden), fc2.bias (N)
// Optional, both or neither (replay for on-device teaching, written by `folia-train export`):
//   exemplars.features (M, C_last): trunk features (after global average pooling) of
//   unaugmented training images; exemplars.labels (M): their class index as f32, integral,
//   in [0, N). Any other extra tensor is kept and written back after the expected ones.
struct model_file {
    arch_desc arch;
    std::vector<std::string> labels;
    preprocess_desc preprocess;
    calibration_desc calibration;
    std::string meta_json = "{}";  // free-form JSON object, kept verbatim
    std::map<std::string, tensor_f32> tensors;
};

// Every tensor name and shape the architecture needs, in file order.
std::vector<std::pair<std::string, std::vector<int64_t>>> expected_tensors(const arch_desc &arch);

inline constexpr const char *k_exemplar_features = "exemplars.features";
inline constexpr const char *k_exemplar_labels = "exemplars.labels";

// Checks the optional exemplar tensors (both or neither; shapes; labels integral in [0, N);
// features finite). FOLIA_OK when absent.
folia_status validate_exemplars(const model_file &model, std::string *error = nullptr);

// Parses and fully validates (magic, version, sizes, both checksums, JSON, arch, labels count ==
// num_classes, every expected tensor present with the right shape, exemplars if present). On
// failure returns the specific status and, if error is non-null, a detailed message.
folia_status parse_model_file(const uint8_t *bytes, size_t size, model_file *out,
                              std::string *error = nullptr);

// The header's "arch", "labels", "preprocess" and "calibration" objects, as write_model_file
// stores them (`folia inspect --json` prints the same).
nlohmann::json model_header_json(const model_file &model);

// Serialises (validating shapes first). Returns FOLIA_ERR_MODEL_TENSOR on a shape mismatch.
folia_status write_model_file(const model_file &model, std::vector<uint8_t> *out,
                              std::string *error = nullptr);

uint32_t crc32(const uint8_t *data, size_t size, uint32_t crc = 0);

}  // namespace folia
