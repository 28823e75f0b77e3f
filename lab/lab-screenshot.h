// lab-screenshot.h: the framebuffer as a PNG (the automation's --screenshot).
#pragma once

#include <string>

namespace folia_lab {

// Reads the w x h back buffer (call after rendering, before the swap) and writes it as an RGB
// PNG, top row first, atomically. On failure returns false and sets error.
bool save_screenshot_png(const std::string &path, int w, int h, std::string *error);

}  // namespace folia_lab
