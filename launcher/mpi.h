// RAII owners of the MPI runtime and of communicators, and checked calls.
//
// MpiSession initialises MPI (asking for MPI_THREAD_MULTIPLE, which the
// coordinator thread on rank 0 needs) and finalises it; MpiComm owns one
// communicator and frees it. Every MPI call goes through FRACSWEEP_MPI_CHECK,
// which throws core::CommError naming the call, file:line and MPI's text, so
// nothing has to rely on MPI's default abort-on-error handler.
#pragma once

#include <mpi.h>

#include <string>
#include <utility>

#include "core/error.h"

namespace fracsweep::launcher {

// MPI's text for an error code.
std::string mpi_error_text(int code);

#define FRACSWEEP_MPI_CHECK(call)                                                  \
  do {                                                                             \
    const int fracsweep_mpi_rc_ = (call);                                          \
    if (fracsweep_mpi_rc_ != MPI_SUCCESS)                                          \
      throw ::fracsweep::core::CommError(::fracsweep::core::str_cat(               \
          #call, " failed at ", __FILE__, ":", __LINE__, ": ",                     \
          ::fracsweep::launcher::mpi_error_text(fracsweep_mpi_rc_)));              \
  } while (0)

// Initialises MPI for the life of the object (one per process). Errors on
// MPI_COMM_WORLD are made to return codes, so that FRACSWEEP_MPI_CHECK sees them.
class MpiSession {
 public:
  // Throws core::CommError if MPI cannot be initialised or does not provide
  // `required` thread support (MPI_THREAD_MULTIPLE by default).
  explicit MpiSession(int required = MPI_THREAD_MULTIPLE);
  MpiSession(const MpiSession&) = delete;
  MpiSession& operator=(const MpiSession&) = delete;
  ~MpiSession();

  int world_rank() const { return rank_; }
  int world_size() const { return size_; }
  // Kills every rank of MPI_COMM_WORLD: the way out when a peer may be
  // blocked in a collective that this rank will never join.
  [[noreturn]] void abort(int code) const;
  // MPI_Finalize waits for every rank (Open MPI: a fence); with a limit, a rank
  // that waits longer (a peer stopped or hung) says so and exits with code 1,
  // and mpirun ends the others. 0: no limit.
  void limit_finalize(double seconds) { finalize_limit_s_ = seconds; }

 private:
  int rank_ = 0, size_ = 1;
  double finalize_limit_s_ = 0;
};

// Owns one communicator (never MPI_COMM_WORLD itself); move-only.
class MpiComm {
 public:
  MpiComm() = default;
  static MpiComm dup(MPI_Comm parent);
  // MPI_Comm_split: ranks with the same `color` form one communicator, ordered by `key`.
  static MpiComm split(MPI_Comm parent, int color, int key);
  // MPI_Comm_split_type(MPI_COMM_TYPE_SHARED): the ranks of `parent` on this node.
  static MpiComm node_local(MPI_Comm parent);

  MpiComm(MpiComm&& o) noexcept : comm_(std::exchange(o.comm_, MPI_COMM_NULL)) {}
  MpiComm& operator=(MpiComm&& o) noexcept {
    if (this != &o) {
      reset();
      comm_ = std::exchange(o.comm_, MPI_COMM_NULL);
    }
    return *this;
  }
  MpiComm(const MpiComm&) = delete;
  MpiComm& operator=(const MpiComm&) = delete;
  ~MpiComm() { reset(); }

  MPI_Comm get() const { return comm_; }
  int rank() const;
  int size() const;

 private:
  explicit MpiComm(MPI_Comm c) : comm_(c) {}
  void reset() noexcept;
  MPI_Comm comm_ = MPI_COMM_NULL;
};

// This process's host name as MPI reports it.
std::string mpi_host_name();

}  // namespace fracsweep::launcher
