// Whole-file reads and crash-safe writes.
//
// write_file_atomic writes to a temporary file beside the target, fsyncs it,
// renames it over the target and fsyncs the directory, so a reader (or a run
// restarted after a crash) sees either the old content or the new, never a
// torn mix. Both throw core::IoError naming the path and the system error.
#pragma once

#include <string>
#include <string_view>

namespace fracsweep::core {

std::string read_file(const std::string& path);

void write_file_atomic(const std::string& path, std::string_view content);

// fsyncs `from` (a finished file written by other means, e.g. HDF5), renames
// it to `to` and fsyncs the folder, so `to` is either absent or complete.
void rename_durably(const std::string& from, const std::string& to);

}  // namespace fracsweep::core
