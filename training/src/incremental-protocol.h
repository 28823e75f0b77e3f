// incremental-protocol.h: the class-incremental protocol on a labelled dataset (no LibTorch).
//
// Classes are put in an order (sorted, or shuffled from a seed); experience 0 holds the first
// `first_classes` of it, the rest is cut into `steps` experiences of nearly equal size
// (35 classes, first 20, 2 steps -> 20 + 8 + 7). Model output i is class_order[i], so the classes
// of experience t own the contiguous output range [offset_t, offset_t + n_t) and a grown model's
// old outputs keep their meaning. Training data of an experience = its classes' samples in the
// training parts of the leaf-grouped split; test data = their samples in the test part.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "dataset.h"
#include "split.h"

namespace folia::train {

struct protocol_params {
    int first_classes = 20;        // classes of experience 0 (0 = half of them)
    int steps = 2;                 // experiences after the first, sharing the remaining classes
    bool shuffle_classes = false;  // false: sorted class order (the dataset's labels)
    uint64_t seed = 1;             // class order when shuffled
};

struct cil_experience {
    int id = 0;
    int first_output = 0;      // model output index of its first class
    std::vector<int> classes;  // dataset labels, in class order
    int num_outputs_after() const { return first_output + int(classes.size()); }
};

struct cil_protocol {
    std::vector<int> class_order;  // model output -> dataset label
    std::vector<int> output_of;    // dataset label -> model output
    std::vector<cil_experience> experiences;
    // Class names in model-output order: the label list of an exported model with n outputs.
    std::vector<std::string> labels(const dataset &d, int n_outputs) const;
    int experience_of_output(int output) const;
};

// Throws std::invalid_argument when the numbers do not fit (first_classes >= classes with steps
// > 0, more steps than remaining classes, ...).
cil_protocol make_protocol(int num_classes, const protocol_params &p);

// Sample indices (into d.samples) of experience `exp` in the given split parts, dataset order.
std::vector<int> experience_samples(const dataset &d, const data_split &s, const cil_protocol &p,
                                    int exp, const std::vector<part> &parts);

}  // namespace folia::train
