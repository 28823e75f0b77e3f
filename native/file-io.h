// file-io.h: the native CLI's file access. The shared core never touches files; the platform
// (this CLI, the browser) reads bytes and hands them over.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace folia_cli {

// Reads a whole file. On failure returns false and sets error to "PATH: reason".
bool read_file(const std::string &path, std::vector<uint8_t> *out, std::string *error);

// Non-empty lines of a text file with trailing '\r' and surrounding blanks removed.
bool read_lines(const std::string &path, std::vector<std::string> *out, std::string *error);

// Writes to a temporary file next to path, fsyncs it and renames it over path, so a reader (or
// a crash) sees either the old file or the complete new one, never a partial write.
// Tests inject faults here (FOLIA_FAULT_WRITE_*, see file-io.cpp).
bool write_file_atomic(const std::string &path, const void *data, size_t size, std::string *error);

}  // namespace folia_cli
