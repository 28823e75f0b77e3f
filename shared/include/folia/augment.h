// augment.h: training-time augmentation in the shared core, so native training and the
// browser's on-device fine-tuning transform images identically. Never used at inference.
#pragma once

#include <cstdint>

#include "folia/preprocess.h"

namespace folia {

struct augment_params {
    float flip_p = 0.5f;         // horizontal flip
    float rotate_p = 0.5f;       // rotation by U(-max_degrees, max_degrees), bilinear, edges clamped
    float max_degrees = 20.0f;
    float color_p = 0.5f;        // brightness and contrast jitter
    float brightness = 0.2f;     // factor U(1 - b, 1 + b)
    float contrast = 0.2f;       // factor U(1 - c, 1 + c) around the image mean
    float noise_p = 0.1f;        // light Gaussian noise
    float noise_std = 5.0f;      // in 8-bit levels
};

// img is (H, W, 3) u8 (already resized to the model's input). The result depends only on
// (img, params, seed): the same seed gives the same image on every platform.
image_u8 augment_image(const image_u8 &img, const augment_params &params, uint64_t seed);

}  // namespace folia
