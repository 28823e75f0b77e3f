// file-io.h: the training tools' file helpers (no LibTorch): whole-file reads, atomic writes
// (a crash never leaves a partial checkpoint, split or results file), JSON files.
#pragma once

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace folia::train {

// Reads a whole file; throws std::runtime_error naming the path on failure.
std::vector<uint8_t> read_file_bytes(const std::string &path);
// Writes via a temporary file in the same folder and rename(), so readers never see a partial
// file and a crash leaves the old one intact. Creates missing parent folders. The data and the
// folder entry are fsynced. Tests inject faults here (FOLIA_FAULT_WRITE_*, see file-io.cpp).
void write_file_atomic(const std::string &path, const void *data, size_t size);
void write_file_atomic(const std::string &path, const std::string &text);

// Reads and parses a JSON file; throws naming the path.
nlohmann::json read_json_file(const std::string &path);

}  // namespace folia::train
