// lab-charts.h: the few charts the lab draws, by hand with ImDrawList (no plotting library).
// Each one takes a rectangle at the cursor, records it in lab_state::charts under its name (the
// automation JSON reports it) and advances the cursor.
#pragma once

#include <imgui.h>
#include <string>
#include <utility>
#include <vector>

#include "lab-state.h"

namespace folia_lab {

inline constexpr ImU32 k_col_blue = IM_COL32(86, 156, 214, 255);
inline constexpr ImU32 k_col_orange = IM_COL32(230, 145, 56, 255);
inline constexpr ImU32 k_col_green = IM_COL32(106, 190, 108, 255);
inline constexpr ImU32 k_col_red = IM_COL32(220, 80, 80, 255);
inline constexpr ImU32 k_col_grey = IM_COL32(150, 150, 150, 255);

struct series {
    std::string name;
    ImU32 color = k_col_blue;
    std::vector<ImVec2> points;  // (x, y), x ascending
    bool markers = false;
};

// Lines over a shared x axis; y range from the data unless y_min < y_max are given.
void line_chart(lab_state &s, const char *name, ImVec2 size, const std::vector<series> &lines,
                const char *x_label, float y_min = 0, float y_max = 0);
// One horizontal bar per row, value in [0, max]; the label left, the value (value_fmt) right.
void hbar_chart(lab_state &s, const char *name, float width,
                const std::vector<std::pair<std::string, float>> &rows, float max, ImU32 color,
                const char *value_fmt);
// Grouped vertical bars: groups[g][b] is group g's value in bin b (bins share the x axis,
// x_labels under them); colors and names per group.
void bar_groups_chart(lab_state &s, const char *name, ImVec2 size,
                      const std::vector<std::vector<float>> &groups,
                      const std::vector<ImU32> &colors, const std::vector<std::string> &names,
                      const std::vector<std::string> &x_labels);
// Reliability diagram: accuracy per confidence bin as bars against the diagonal.
void reliability_chart(lab_state &s, const char *name, ImVec2 size,
                       const std::vector<double> &bin_conf, const std::vector<double> &bin_acc,
                       const std::vector<int> &bin_count);
// Row-normalised confusion matrix (k x k counts, row = true class); hover shows the cell.
void heat_map(lab_state &s, const char *name, ImVec2 size, int k, const std::vector<int> &counts,
              const std::vector<std::string> &labels);

}  // namespace folia_lab
