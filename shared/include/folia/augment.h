// augment.h: training-time augmentation in the shared core, so native training and the
// browser's on-device fine-tuning transform images identically. Never used at inference.
#pragma once

#include <cstdint>

#include "folia/preprocess.h"

namespace folia {

struct augment_params {
    float flip_p = 0.5f;    // horizontal flip
    float rotate_p = 0.5f;  // rotation by U(-max_degrees, max_degrees), bilinear, edges clamped
    float max_degrees = 20.0f;
    float color_p = 0.5f;     // brightness and contrast jitter
    float brightness = 0.2f;  // factor U(1 - b, 1 + b)
    float contrast = 0.2f;    // factor U(1 - c, 1 + c) around the image mean
    float noise_p = 0.1f;     // light Gaussian noise
    float noise_std = 5.0f;   // in 8-bit levels
    // Field-photo transforms (all off by default, so the lab recipe is unchanged). Their random
    // numbers come from a second stream drawn after the ones above.
    float crop_p = 0.0f;           // random resized crop: area U(crop_min_area, 1) of the image,
    float crop_min_area = 0.35f;   // aspect ratio U(1/crop_max_ratio, crop_max_ratio), resampled
    float crop_max_ratio = 1.33f;  // bilinearly back to the full size
    float hue_p = 0.0f;            // hue rotation by U(-hue_degrees, hue_degrees) in YIQ space and
    float hue_degrees = 15.0f;     // saturation scaled by U(1 - saturation, 1 + saturation)
    float saturation = 0.3f;
    float blur_p = 0.0f;            // 3x3 binomial blur (a phone photo slightly out of focus)
    float cutout_p = 0.0f;          // one rectangle of side U(0.1, cutout_max_side) * S filled with
    float cutout_max_side = 0.35f;  // a random flat colour (a hand, a stone, another leaf)
};

// The seed's lab recipe plus every field transform on: what `folia-train --augment field` uses.
augment_params field_augment_params();

// img is (H, W, 3) u8 (already resized to the model's input). The result depends only on
// (img, params, seed): the same seed gives the same image on every platform.
image_u8 augment_image(const image_u8 &img, const augment_params &params, uint64_t seed);
// The same on a borrowed (height, width, channels) u8 buffer, e.g. a row of a training image
// cache: the result is bitwise augment_image(<a copy of it>, params, seed), without that copy.
image_u8 augment_image(const uint8_t *pixels, int width, int height, int channels,
                       const augment_params &params, uint64_t seed);

}  // namespace folia
