// teach-internal.h (private): what the teaching module reads from a folia_context, defined in
// shared/src/engine/folia-api.cpp (which owns the struct).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "folia.h"
#include "folia/model-file.h"

namespace folia::teach_internal {
std::shared_ptr<const folia::model_file> context_model(const folia_context *ctx);
uint32_t context_model_crc32(const folia_context *ctx);  // CRC-32 of the model file's bytes
int context_threads(const folia_context *ctx);
size_t context_max_pixels(const folia_context *ctx);
int context_max_batch(const folia_context *ctx);
}  // namespace folia::teach_internal
