// Appending to a file of the job's folder: the event files (tensorboard.cpp) and the
// MLflow queue (mlflow_queue.cpp) grow by whole records.
#pragma once

#include <string>
#include <string_view>

#include "core/fs.h"

namespace fracsweep::tracking {

// `path` opened for appending, created (0644) when missing. Throws core::IoError.
core::UniqueFd open_for_append(const std::string& path);

// Writes all of `data` at the end of `fd` (short writes and EINTR retried).
// Throws core::IoError naming `path`; a failed write may leave part of `data`,
// which the readers cut off as a torn last record.
void append_all(int fd, std::string_view data, const std::string& path);

}  // namespace fracsweep::tracking
