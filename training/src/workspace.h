// workspace.h: dataset + split + image cache loaded together, as every command needs them.
// No LibTorch here.
#pragma once

#include "commands.h"
#include "dataset.h"
#include "image-cache.h"
#include "split.h"

namespace folia::train {

struct workspace {
    dataset data;
    data_split split;
    image_cache images;  // empty unless load_workspace(..., true)
};

// Scans the data folder (sliced by --max-classes/--per-class), loads or makes the split file,
// and, if with_images, loads or builds the image cache.
workspace load_workspace(const data_options &o, bool with_images);

}  // namespace folia::train
