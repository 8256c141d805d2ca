// See mpi_transport.h.
#include "launcher/mpi_transport.h"

#include <chrono>
#include <thread>

#include "launcher/mpi.h"

namespace fracsweep::launcher {
namespace {

void send_text(MPI_Comm comm, int to, const schedule::Envelope& e) {
  FRACSWEEP_MPI_CHECK(MPI_Send(e.body.data(), static_cast<int>(e.body.size()), MPI_CHAR, to,
                               static_cast<int>(e.kind), comm));
}

schedule::Envelope receive_matched(MPI_Message& message, const MPI_Status& status) {
  int count = 0;
  FRACSWEEP_MPI_CHECK(MPI_Get_count(&status, MPI_CHAR, &count));
  schedule::Envelope e{static_cast<schedule::MessageKind>(status.MPI_TAG),
                       std::string(static_cast<size_t>(count), '\0')};
  FRACSWEEP_MPI_CHECK(MPI_Mrecv(e.body.data(), count, MPI_CHAR, &message, MPI_STATUS_IGNORE));
  return e;
}

}  // namespace

std::optional<schedule::Envelope> MpiCoordinatorEnd::try_receive() {
  int flag = 0;
  MPI_Message message;
  MPI_Status status;
  FRACSWEEP_MPI_CHECK(MPI_Improbe(MPI_ANY_SOURCE, MPI_ANY_TAG, channels_.up, &flag, &message, &status));
  if (!flag) return std::nullopt;
  return receive_matched(message, status);
}

void MpiCoordinatorEnd::send(int leader, const schedule::Envelope& envelope) {
  send_text(channels_.down, leader, envelope);
}

void MpiCoordinatorEnd::abort_all() noexcept { MPI_Abort(MPI_COMM_WORLD, 1); }

void MpiLeaderEnd::send(const schedule::Envelope& envelope) { send_text(channels_.up, 0, envelope); }

std::optional<schedule::Envelope> MpiLeaderEnd::receive(schedule::MessageKind kind, double timeout_seconds) {
  const int tag = static_cast<int>(kind);
  MPI_Message message;
  MPI_Status status;
  // Polled with a short sleep rather than a blocking probe, which spins a core
  // (Open MPI) that this rank's training threads need.
  const auto started = std::chrono::steady_clock::now();
  for (int flag = 0;;) {
    FRACSWEEP_MPI_CHECK(MPI_Improbe(0, tag, channels_.down, &flag, &message, &status));
    if (flag) return receive_matched(message, status);
    const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    if (timeout_seconds > 0 && waited > timeout_seconds) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
}

}  // namespace fracsweep::launcher
