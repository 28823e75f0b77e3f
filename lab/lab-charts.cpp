// lab-charts.cpp: ImDrawList charts (see lab-charts.h).
#include "lab-charts.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace folia_lab {

namespace {

constexpr ImU32 k_chart_bg = IM_COL32(30, 33, 38, 255);
constexpr ImU32 k_axis = IM_COL32(120, 120, 120, 255);
constexpr ImU32 k_grid = IM_COL32(60, 63, 70, 255);
constexpr ImU32 k_text = IM_COL32(210, 210, 210, 255);

// Takes the rectangle at the cursor, registers it and draws the background.
ImVec2 begin_chart(lab_state &s, const char *name, ImVec2 size) {
    const ImVec2 p0 = ImGui::GetCursorScreenPos();
    ImGui::InvisibleButton(name, size);
    s.charts.push_back({name, p0.x, p0.y, size.x, size.y});
    ImGui::GetWindowDrawList()->AddRectFilled(p0, ImVec2(p0.x + size.x, p0.y + size.y), k_chart_bg,
                                              4.0f);
    return p0;
}

// "Nice" grid step for a range (1, 2 or 5 times a power of ten).
float nice_step(float range, int target_lines) {
    const float raw = range / float(std::max(1, target_lines));
    const float mag = std::pow(10.0f, std::floor(std::log10(std::max(raw, 1e-12f))));
    for (float m : {1.0f, 2.0f, 5.0f, 10.0f})
        if (m * mag >= raw) return m * mag;
    return 10 * mag;
}

void legend(ImDrawList *dl, ImVec2 at, const std::vector<std::string> &names,
            const std::vector<ImU32> &colors) {
    float x = at.x;
    for (size_t i = 0; i < names.size(); ++i) {
        dl->AddRectFilled(ImVec2(x, at.y + 4), ImVec2(x + 10, at.y + 14), colors[i]);
        dl->AddText(ImVec2(x + 14, at.y), k_text, names[i].c_str());
        x += 24 + ImGui::CalcTextSize(names[i].c_str()).x;
    }
}

}  // namespace

void line_chart(lab_state &s, const char *name, ImVec2 size, const std::vector<series> &lines,
                const char *x_label, float y_min, float y_max) {
    const ImVec2 p0 = begin_chart(s, name, size);
    ImDrawList *dl = ImGui::GetWindowDrawList();
    float x0 = 1e30f, x1 = -1e30f, lo = 1e30f, hi = -1e30f;
    for (const auto &l : lines)
        for (const ImVec2 &p : l.points) {
            x0 = std::min(x0, p.x), x1 = std::max(x1, p.x);
            lo = std::min(lo, p.y), hi = std::max(hi, p.y);
        }
    if (y_min < y_max) lo = y_min, hi = y_max;
    if (x0 > x1) x0 = 0, x1 = 1;
    if (x1 - x0 < 1e-6f) x1 = x0 + 1;
    if (lo > hi) lo = 0, hi = 1;
    if (hi - lo < 1e-6f) hi = lo + 1;
    const float ml = 46, mr = 10, mt = 22, mb = 22;  // margins: tick labels, legend, x label
    const ImVec2 a(p0.x + ml, p0.y + mt), b(p0.x + size.x - mr, p0.y + size.y - mb);
    auto px = [&](float x) { return a.x + (x - x0) / (x1 - x0) * (b.x - a.x); };
    auto py = [&](float y) { return b.y - (y - lo) / (hi - lo) * (b.y - a.y); };
    const float step = nice_step(hi - lo, 4);
    char buf[32];
    for (float g = std::ceil(lo / step) * step; g <= hi + 1e-6f; g += step) {
        dl->AddLine(ImVec2(a.x, py(g)), ImVec2(b.x, py(g)), k_grid);
        std::snprintf(buf, sizeof buf, step < 0.1f ? "%.2f" : "%.1f", g);
        dl->AddText(ImVec2(p0.x + 4, py(g) - 7), k_text, buf);
    }
    dl->AddLine(ImVec2(a.x, b.y), ImVec2(b.x, b.y), k_axis);
    dl->AddLine(ImVec2(a.x, a.y), ImVec2(a.x, b.y), k_axis);
    std::snprintf(buf, sizeof buf, "%g", double(x0));
    dl->AddText(ImVec2(a.x, b.y + 3), k_text, buf);
    std::snprintf(buf, sizeof buf, "%g", double(x1));
    dl->AddText(ImVec2(b.x - ImGui::CalcTextSize(buf).x, b.y + 3), k_text, buf);
    dl->AddText(ImVec2((a.x + b.x - ImGui::CalcTextSize(x_label).x) / 2, b.y + 3), k_text, x_label);
    std::vector<std::string> names;
    std::vector<ImU32> colors;
    for (const auto &l : lines) {
        names.push_back(l.name);
        colors.push_back(l.color);
        std::vector<ImVec2> pts;
        for (const ImVec2 &p : l.points) pts.emplace_back(px(p.x), py(std::clamp(p.y, lo, hi)));
        if (pts.size() >= 2) dl->AddPolyline(pts.data(), int(pts.size()), l.color, 0, 2.0f);
        if (l.markers || pts.size() == 1)
            for (const ImVec2 &p : pts) dl->AddCircleFilled(p, 3.0f, l.color);
    }
    legend(dl, ImVec2(a.x + 4, p0.y + 3), names, colors);
}

void hbar_chart(lab_state &s, const char *name, float width,
                const std::vector<std::pair<std::string, float>> &rows, float max, ImU32 color,
                const char *value_fmt) {
    const float row_h = ImGui::GetTextLineHeight() + 8;
    const ImVec2 size(width, row_h * float(std::max<size_t>(1, rows.size())) + 8);
    const ImVec2 p0 = begin_chart(s, name, size);
    ImDrawList *dl = ImGui::GetWindowDrawList();
    float label_w = 0;
    for (const auto &r : rows) label_w = std::max(label_w, ImGui::CalcTextSize(r.first.c_str()).x);
    label_w = std::min(label_w + 12, width * 0.55f);
    const float value_w = 64, bar_x0 = p0.x + label_w, bar_x1 = p0.x + width - value_w;
    char buf[32];
    for (size_t i = 0; i < rows.size(); ++i) {
        const float y = p0.y + 4 + row_h * float(i);
        dl->PushClipRect(ImVec2(p0.x, y), ImVec2(bar_x0 - 6, y + row_h), true);
        dl->AddText(ImVec2(p0.x + 6, y + 4), k_text, rows[i].first.c_str());
        dl->PopClipRect();
        const float f = max > 0 ? std::clamp(rows[i].second / max, 0.0f, 1.0f) : 0;
        dl->AddRectFilled(ImVec2(bar_x0, y + 3), ImVec2(bar_x1, y + row_h - 3), k_grid, 2.0f);
        dl->AddRectFilled(ImVec2(bar_x0, y + 3),
                          ImVec2(bar_x0 + f * (bar_x1 - bar_x0), y + row_h - 3), color, 2.0f);
        std::snprintf(buf, sizeof buf, value_fmt, double(rows[i].second));
        dl->AddText(ImVec2(bar_x1 + 6, y + 4), k_text, buf);
    }
}

void bar_groups_chart(lab_state &s, const char *name, ImVec2 size,
                      const std::vector<std::vector<float>> &groups,
                      const std::vector<ImU32> &colors, const std::vector<std::string> &names,
                      const std::vector<std::string> &x_labels) {
    const ImVec2 p0 = begin_chart(s, name, size);
    ImDrawList *dl = ImGui::GetWindowDrawList();
    size_t bins = 0;
    float hi = 0;
    for (const auto &g : groups) {
        bins = std::max(bins, g.size());
        for (float v : g) hi = std::max(hi, v);
    }
    if (bins == 0) return;
    if (hi <= 0) hi = 1;
    const ImVec2 a(p0.x + 40, p0.y + 22), b(p0.x + size.x - 8, p0.y + size.y - 22);
    const float step = nice_step(hi, 4);
    char buf[32];
    for (float g = 0; g <= hi + 1e-6f; g += step) {
        const float y = b.y - g / hi * (b.y - a.y);
        dl->AddLine(ImVec2(a.x, y), ImVec2(b.x, y), k_grid);
        std::snprintf(buf, sizeof buf, step < 1 ? "%.2f" : "%.0f", g);
        dl->AddText(ImVec2(p0.x + 4, y - 7), k_text, buf);
    }
    const float bw = (b.x - a.x) / float(bins), gw = (bw - 4) / float(groups.size());
    for (size_t i = 0; i < bins; ++i) {
        for (size_t g = 0; g < groups.size(); ++g) {
            if (i >= groups[g].size()) continue;
            const float x = a.x + bw * float(i) + 2 + gw * float(g);
            const float y = b.y - groups[g][i] / hi * (b.y - a.y);
            if (groups[g][i] > 0)
                dl->AddRectFilled(ImVec2(x, std::min(y, b.y - 1)), ImVec2(x + gw - 1, b.y),
                                  colors[g]);
        }
        if (i < x_labels.size() && (bins <= 10 || i % 2 == 0))
            dl->AddText(ImVec2(a.x + bw * float(i) + 2, b.y + 3), k_text, x_labels[i].c_str());
    }
    dl->AddLine(ImVec2(a.x, b.y), ImVec2(b.x, b.y), k_axis);
    legend(dl, ImVec2(a.x + 4, p0.y + 3), names, colors);
}

void reliability_chart(lab_state &s, const char *name, ImVec2 size,
                       const std::vector<double> &bin_conf, const std::vector<double> &bin_acc,
                       const std::vector<int> &bin_count) {
    const ImVec2 p0 = begin_chart(s, name, size);
    ImDrawList *dl = ImGui::GetWindowDrawList();
    const ImVec2 a(p0.x + 40, p0.y + 22), b(p0.x + size.x - 8, p0.y + size.y - 22);
    char buf[16];
    for (int g = 0; g <= 4; ++g) {
        const float y = b.y - float(g) / 4 * (b.y - a.y);
        dl->AddLine(ImVec2(a.x, y), ImVec2(b.x, y), k_grid);
        std::snprintf(buf, sizeof buf, "%.2f", g / 4.0);
        dl->AddText(ImVec2(p0.x + 4, y - 7), k_text, buf);
    }
    const size_t bins = bin_acc.size();
    const float bw = bins ? (b.x - a.x) / float(bins) : 1;
    for (size_t i = 0; i < bins; ++i) {
        if (bin_count[i] == 0) continue;
        const float x = a.x + bw * float(i);
        const float y = b.y - float(bin_acc[i]) * (b.y - a.y);
        dl->AddRectFilled(ImVec2(x + 1, y), ImVec2(x + bw - 1, b.y), k_col_blue);
        // The gap to the bin's mean confidence: red above (over-confident), none when calibrated.
        const float yc = b.y - float(bin_conf[i]) * (b.y - a.y);
        dl->AddRectFilled(ImVec2(x + 1, std::min(y, yc)), ImVec2(x + bw - 1, std::max(y, yc)),
                          IM_COL32(220, 80, 80, 110));
    }
    dl->AddLine(ImVec2(a.x, b.y), ImVec2(b.x, a.y), k_col_orange, 1.5f);
    dl->AddText(ImVec2(a.x, b.y + 3), k_text, "0");
    dl->AddText(ImVec2((a.x + b.x) / 2 - 40, b.y + 3), k_text, "confidence");
    dl->AddText(ImVec2(b.x - 8, b.y + 3), k_text, "1");
    legend(dl, ImVec2(a.x + 4, p0.y + 3), {"accuracy", "gap", "ideal"},
           {k_col_blue, IM_COL32(220, 80, 80, 200), k_col_orange});
}

void heat_map(lab_state &s, const char *name, ImVec2 size, int k, const std::vector<int> &counts,
              const std::vector<std::string> &labels) {
    const ImVec2 p0 = begin_chart(s, name, size);
    if (k <= 0 || counts.size() < size_t(k) * size_t(k)) return;
    ImDrawList *dl = ImGui::GetWindowDrawList();
    const float side = std::min(size.x, size.y) - 8;
    const float cell = side / float(k);
    const ImVec2 a(p0.x + 4, p0.y + 4);
    for (int r = 0; r < k; ++r) {
        int row_total = 0;
        for (int c = 0; c < k; ++c) row_total += counts[size_t(r * k + c)];
        for (int c = 0; c < k; ++c) {
            const int n = counts[size_t(r * k + c)];
            const float f = row_total ? float(n) / float(row_total) : 0;
            // Dark blue (0) to yellow (1); the diagonal is what a good model fills.
            const ImU32 col =
                IM_COL32(int(40 + 215 * f), int(50 + 180 * f), int(90 * (1 - f) + 40), 255);
            const ImVec2 c0(a.x + cell * float(c), a.y + cell * float(r));
            dl->AddRectFilled(
                c0, ImVec2(c0.x + cell - (cell > 4 ? 1 : 0), c0.y + cell - (cell > 4 ? 1 : 0)),
                row_total ? col : k_grid);
        }
    }
    if (ImGui::IsItemHovered()) {
        const ImVec2 m = ImGui::GetIO().MousePos;
        const int c = int((m.x - a.x) / cell), r = int((m.y - a.y) / cell);
        if (r >= 0 && r < k && c >= 0 && c < k)
            ImGui::SetTooltip("true %s\npredicted %s\n%d photos", labels[size_t(r)].c_str(),
                              labels[size_t(c)].c_str(), counts[size_t(r * k + c)]);
    }
}

}  // namespace folia_lab
