// panel-diagnose.cpp: one photo through the engine: the photo, the input the network sees,
// the top-5 classes, the "not sure" state and where the time went. The work runs on a worker
// (platform_run_async); textures are made on the UI thread when the result arrives.
#include <imgui.h>
#include <imgui_stdlib.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <numeric>

#include "folia/preprocess.h"
#include "lab-charts.h"
#include "lab-gl.h"
#include "lab-state.h"

namespace folia_lab {

void upload_rgb_texture(unsigned *tex, int w, int h, const unsigned char *rgb, bool nearest) {
    // RGBA: GLES/WebGL have no unpack alignment surprises for 4-byte pixels.
    std::vector<unsigned char> rgba(size_t(w) * size_t(h) * 4);
    for (size_t i = 0, n = size_t(w) * size_t(h); i < n; ++i) {
        rgba[4 * i] = rgb[3 * i];
        rgba[4 * i + 1] = rgb[3 * i + 1];
        rgba[4 * i + 2] = rgb[3 * i + 2];
        rgba[4 * i + 3] = 255;
    }
    if (*tex == 0) glGenTextures(1, reinterpret_cast<GLuint *>(tex));
    glBindTexture(GL_TEXTURE_2D, *tex);
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MIN_FILTER, GL_LINEAR);
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MAG_FILTER, nearest ? GL_NEAREST : GL_LINEAR);
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_WRAP_S, GL_CLAMP_TO_EDGE);
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_WRAP_T, GL_CLAMP_TO_EDGE);
    glTexImage2D(GL_TEXTURE_2D, 0, GL_RGBA, w, h, 0, GL_RGBA, GL_UNSIGNED_BYTE, rgba.data());
}

namespace {

constexpr int k_top = 5;
constexpr int k_photo_max_side = 640;  // display copy; the engine sees the full photo

double ms_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

rgb_image to_rgb(const folia::image_u8 &img) {
    return {img.width, img.height, img.data};
}

// The diagnosis: folia_classify_image for the probabilities (the path `folia diagnose` takes,
// so both print the same numbers), plus a separate decode and resize for the pictures and the
// timing split.
diagnosis_result diagnose_file(const loaded_model &m, const std::string &path) {
    diagnosis_result d;
    d.file = path;
    std::vector<uint8_t> bytes;
    if (!platform_read_file(path, &bytes, &d.error)) return d;
    std::vector<float> probs(size_t(m.classes));
    auto t0 = std::chrono::steady_clock::now();
    const folia_status st =
        folia_classify_image(m.ctx.get(), bytes.data(), bytes.size(), probs.data());
    d.classify_ms = ms_since(t0);
    if (st != FOLIA_OK) {
        d.error = folia_status_message(st);
        return d;
    }
    folia::image_u8 photo;
    t0 = std::chrono::steady_clock::now();
    folia::decode_image(bytes.data(), bytes.size(), folia_default_params().max_pixels, &photo);
    d.decode_ms = ms_since(t0);
    t0 = std::chrono::steady_clock::now();
    d.network = to_rgb(folia::resize_bilinear_pillow(photo, m.input_size, m.input_size));
    d.resize_ms = ms_since(t0);
    d.photo_width = photo.width;
    d.photo_height = photo.height;
    const float scale =
        std::min(1.0f, float(k_photo_max_side) / float(std::max(photo.width, photo.height)));
    d.photo = to_rgb(folia::resize_bilinear_pillow(photo, std::max(1, int(photo.width * scale)),
                                                   std::max(1, int(photo.height * scale))));
    std::vector<int> idx(probs.size());
    std::iota(idx.begin(), idx.end(), 0);
    const int k = std::min<int>(k_top, int(idx.size()));
    // Ties: lower index first, as the CLI's top_k.
    std::partial_sort(idx.begin(), idx.begin() + k, idx.end(), [&](int a, int b) {
        return probs[size_t(a)] > probs[size_t(b)] ||
               (probs[size_t(a)] == probs[size_t(b)] && a < b);
    });
    for (int i = 0; i < k; ++i)
        d.top.emplace_back(m.labels[size_t(idx[size_t(i)])], probs[size_t(idx[size_t(i)])]);
    d.sure = d.top[0].second >= m.abstain_threshold;
    d.ok = true;
    return d;
}

// Takes a finished result from the worker and makes its textures.
void take_result(lab_state &s) {
    if (!s.diagnose) return;
    std::lock_guard<std::mutex> lock(s.diagnose->mutex);
    if (!s.diagnose->fresh) return;
    s.diagnose->fresh = false;
    s.diagnosis = std::move(s.diagnose->result);
    const diagnosis_result &d = s.diagnosis;
    if (!d.ok) return;
    upload_rgb_texture(&s.photo_texture, d.photo.width, d.photo.height, d.photo.rgb.data(), false);
    upload_rgb_texture(&s.network_texture, d.network.width, d.network.height, d.network.rgb.data(),
                       true);
}

void draw_open_row(lab_state &s) {
    ImGui::SetNextItemWidth(520);
    const bool enter = ImGui::InputTextWithHint(
        "##photo", "path to a JPEG or PNG photo (or drop one on the window)", &s.image_path_field,
        ImGuiInputTextFlags_EnterReturnsTrue);
    ImGui::SameLine();
    bool busy = false;
    if (s.diagnose) {
        std::lock_guard<std::mutex> lock(s.diagnose->mutex);
        busy = s.diagnose->running;
    }
    ImGui::BeginDisabled(busy || !s.model.ctx);
    if ((ImGui::Button("Diagnose") || enter) && !s.image_path_field.empty())
        start_diagnosis(s, s.image_path_field);
    ImGui::EndDisabled();
    if (busy) {
        ImGui::SameLine();
        ImGui::TextDisabled("working...");
    }
}

void draw_result(lab_state &s) {
    const diagnosis_result &d = s.diagnosis;
    if (d.file.empty()) {
        ImGui::TextDisabled("No photo yet: type a path above, or drop a photo on the window.");
        return;
    }
    if (!d.ok) {
        ImGui::TextColored(ImVec4(1, 0.4f, 0.4f, 1), "%s: %s", d.file.c_str(), d.error.c_str());
        return;
    }
    // Left: the photo and the network input; right: the answer.
    ImGui::BeginGroup();
    const float side = 360;
    const float sc = side / float(std::max(d.photo.width, d.photo.height));
    ImGui::Text("Photo %dx%d", d.photo_width, d.photo_height);
    ImGui::Image(reinterpret_cast<ImTextureID>(intptr_t(s.photo_texture)),
                 ImVec2(float(d.photo.width) * sc, float(d.photo.height) * sc));
    ImGui::Text("What the network sees (%dx%d)", d.network.width, d.network.height);
    ImGui::Image(reinterpret_cast<ImTextureID>(intptr_t(s.network_texture)), ImVec2(256, 256));
    ImGui::EndGroup();
    ImGui::SameLine(0, 24);
    ImGui::BeginGroup();
    if (d.sure)
        ImGui::TextColored(ImVec4(0.45f, 0.85f, 0.45f, 1), "Diagnosis: %s", d.top[0].first.c_str());
    else
        ImGui::TextColored(ImVec4(1.0f, 0.7f, 0.2f, 1),
                           "NOT SURE (top p %.2f < threshold %.2f): take another photo",
                           double(d.top[0].second), double(s.model.abstain_threshold));
    ImGui::Spacing();
    ImGui::Text("Top %d (calibrated probability)", int(d.top.size()));
    std::vector<std::pair<std::string, float>> rows(d.top.begin(), d.top.end());
    hbar_chart(s, "diagnose.top5", 620, rows, 1.0f, d.sure ? k_col_green : k_col_orange, "%.4f");
    ImGui::Spacing();
    ImGui::Text("Timings: classify %.1f ms (decode + resize + network)", d.classify_ms);
    ImGui::Text("         decode %.1f ms, resize to %d %.2f ms (for the pictures)", d.decode_ms,
                s.model.input_size, d.resize_ms);
    ImGui::TextWrapped("File: %s", d.file.c_str());
    ImGui::EndGroup();
}

}  // namespace

void start_diagnosis(lab_state &s, const std::string &path) {
    if (!s.model.ctx) return;
    if (!s.diagnose) s.diagnose = std::make_shared<diagnose_job>();
    {
        std::lock_guard<std::mutex> lock(s.diagnose->mutex);
        if (s.diagnose->running) return;
        s.diagnose->running = true;
    }
    s.image_path_field = path;
    auto job = s.diagnose;
    loaded_model model = s.model;  // shares the context; only this job classifies with it
    platform_run_async([job, model, path] {
        diagnosis_result d = diagnose_file(model, path);
        std::lock_guard<std::mutex> lock(job->mutex);
        job->result = std::move(d);
        job->running = false;
        job->fresh = true;
    });
}

void draw_diagnose_panel(lab_state &s) {
    take_result(s);
    draw_open_row(s);
    ImGui::Separator();
    draw_result(s);
}

}  // namespace folia_lab
