#include "launcher/mpi.h"

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <thread>

namespace fracsweep::launcher {

std::string mpi_error_text(int code) {
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  if (MPI_Error_string(code, text, &len) != MPI_SUCCESS) return "MPI error " + std::to_string(code);
  return std::string(text, static_cast<size_t>(len));
}

MpiSession::MpiSession(int required) {
  int initialised = 0;
  FRACSWEEP_MPI_CHECK(MPI_Initialized(&initialised));
  CHECK_OR_THROW(core::InternalError, !initialised, "MPI is initialised already: one MpiSession per process");
  int provided = MPI_THREAD_SINGLE;
  FRACSWEEP_MPI_CHECK(MPI_Init_thread(nullptr, nullptr, required, &provided));
  if (provided < required) {
    MPI_Finalize();
    throw core::CommError(core::str_cat(
        "this MPI library provides thread level ", provided, " but fracsweep needs ", required,
        " (MPI_THREAD_MULTIPLE): use an MPI built with thread support (Open MPI 4 is)"));
  }
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  FRACSWEEP_MPI_CHECK(MPI_Comm_rank(MPI_COMM_WORLD, &rank_));
  FRACSWEEP_MPI_CHECK(MPI_Comm_size(MPI_COMM_WORLD, &size_));
}

MpiSession::~MpiSession() {
  int finalised = 0;
  MPI_Finalized(&finalised);
  if (finalised) return;
  if (finalize_limit_s_ <= 0) {
    MPI_Finalize();
    return;
  }
  std::mutex mutex;
  std::condition_variable cv;
  bool done = false;
  std::thread watchdog([&] {
    std::unique_lock lock(mutex);
    if (cv.wait_for(lock, std::chrono::duration<double>(finalize_limit_s_), [&] { return done; }))
      return;
    std::fprintf(stderr,
                 "fracsweep: rank %d waited %.0f s in MPI_Finalize for every rank at the end of "
                 "the run: a stopped or hung rank; aborting the run (every job resumes from its "
                 "last checkpoint when the sweep is run again)\n",
                 rank_, finalize_limit_s_);
    std::_Exit(1);  // MPI cannot be aborted once finalising; mpirun ends the other ranks
  });
  MPI_Finalize();
  {
    std::lock_guard lock(mutex);
    done = true;
  }
  cv.notify_one();
  watchdog.join();
}

void MpiSession::abort(int code) const {
  MPI_Abort(MPI_COMM_WORLD, code);
  std::_Exit(code);  // MPI_Abort does not return; this is for the compiler
}

MpiComm MpiComm::dup(MPI_Comm parent) {
  MPI_Comm c = MPI_COMM_NULL;
  FRACSWEEP_MPI_CHECK(MPI_Comm_dup(parent, &c));
  MPI_Comm_set_errhandler(c, MPI_ERRORS_RETURN);
  return MpiComm(c);
}

MpiComm MpiComm::split(MPI_Comm parent, int color, int key) {
  MPI_Comm c = MPI_COMM_NULL;
  FRACSWEEP_MPI_CHECK(MPI_Comm_split(parent, color, key, &c));
  if (c != MPI_COMM_NULL) MPI_Comm_set_errhandler(c, MPI_ERRORS_RETURN);
  return MpiComm(c);
}

MpiComm MpiComm::node_local(MPI_Comm parent) {
  MPI_Comm c = MPI_COMM_NULL;
  FRACSWEEP_MPI_CHECK(MPI_Comm_split_type(parent, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &c));
  MPI_Comm_set_errhandler(c, MPI_ERRORS_RETURN);
  return MpiComm(c);
}

int MpiComm::rank() const {
  int r = 0;
  FRACSWEEP_MPI_CHECK(MPI_Comm_rank(comm_, &r));
  return r;
}

int MpiComm::size() const {
  int s = 0;
  FRACSWEEP_MPI_CHECK(MPI_Comm_size(comm_, &s));
  return s;
}

void MpiComm::reset() noexcept {
  int finalised = 0;
  MPI_Finalized(&finalised);
  if (comm_ != MPI_COMM_NULL && !finalised) MPI_Comm_free(&comm_);
  comm_ = MPI_COMM_NULL;
}

std::string mpi_host_name() {
  char name[MPI_MAX_PROCESSOR_NAME];
  int len = 0;
  FRACSWEEP_MPI_CHECK(MPI_Get_processor_name(name, &len));
  return std::string(name, static_cast<size_t>(len));
}

}  // namespace fracsweep::launcher
