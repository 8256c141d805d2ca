// The project's exception hierarchy and the checking macros that raise it.
//
// LibTorch reports errors by throwing, so fracsweep does too, from one small
// family: ConfigError for bad input (files, flags, sweep files), IoError for the
// file system and HDF5, CommError for MPI/NCCL, ClusterError for SLURM.
// Messages say what was wrong, where, the value seen, and what to do about it.
#pragma once

#include <cerrno>
#include <cstring>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace fracsweep::core {

// The text of the current errno, for "what went wrong" after a failed system call.
inline std::string errno_text() { return std::strerror(errno); }

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

// Bad input from the user: a file, a flag, a sweep file, a CSV.
class ConfigError : public Error {
 public:
  using Error::Error;
};

// The file system or a storage library failed.
class IoError : public Error {
 public:
  using Error::Error;
};

// The storage under a file cannot take writes (full, over quota, read-only, or
// failing with I/O errors): no fault of the job being written, so a sweep stops
// instead of recording the job as failed, and a rerun once it is fixed resumes.
class StorageError : public IoError {
 public:
  using IoError::IoError;
};

// Whether a write's errno means the storage, not the caller, is at fault.
inline bool is_storage_errno(int e) {
  return e == ENOSPC || e == EDQUOT || e == EIO || e == EROFS || e == EFBIG;
}

// Throws StorageError when errno says the storage failed, else IoError; the
// message is `parts...` followed by errno's text.
template <typename... Args>
[[noreturn]] void throw_write_error(Args&&... parts);

// A collective or a transport (MPI, NCCL, CUDA) failed.
class CommError : public Error {
 public:
  using Error::Error;
};

// The batch system (SLURM) refused or failed.
class ClusterError : public Error {
 public:
  using Error::Error;
};

// A bug in fracsweep itself.
class InternalError : public Error {
 public:
  using Error::Error;
};

// Concatenates any streamable values into one string.
template <typename... Args>
std::string str_cat(Args&&... args) {
  std::ostringstream out;
  (out << ... << std::forward<Args>(args));
  return out.str();
}

template <typename... Args>
[[noreturn]] void throw_write_error(Args&&... parts) {
  const int e = errno;
  std::string what = str_cat(std::forward<Args>(parts)..., std::strerror(e));
  if (is_storage_errno(e)) throw StorageError(std::move(what));
  throw IoError(std::move(what));
}

}  // namespace fracsweep::core

// Throws `Type` with the concatenated message when `cond` is false.
#define CHECK_OR_THROW(Type, cond, ...)                         \
  do {                                                          \
    if (!(cond)) throw Type(::fracsweep::core::str_cat(__VA_ARGS__)); \
  } while (0)

// For invariants of our own code: a failure is a bug, and the message says so.
#define INTERNAL_ASSERT(cond)                                                   \
  do {                                                                          \
    if (!(cond))                                                                \
      throw ::fracsweep::core::InternalError(::fracsweep::core::str_cat(        \
          "internal error (a bug in fracsweep, please report it): ", #cond,     \
          " is false at ", __FILE__, ":", __LINE__));                           \
  } while (0)
