// The hand-out protocol (schedule/messages.h) over MPI: each message is one
// MPI_CHAR send whose tag is its kind, on two communicators of the protocol's
// own (duplicates of the world: requests, results and heartbeats go up to the
// coordinator, replies and answers come down), so they never match a group's
// gradient traffic, and the coordinator thread on rank 0 never receives the
// replies meant for rank 0's own leader.
#pragma once

#include <mpi.h>

#include "schedule/transport.h"

namespace fracsweep::launcher {

// The two communicators of the protocol; every rank passes the same ones.
struct CoordinatorChannels {
  MPI_Comm up = MPI_COMM_NULL;    // leaders -> coordinator
  MPI_Comm down = MPI_COMM_NULL;  // coordinator -> leaders
};

// The coordinator's end, on world rank 0. abort_all() is MPI_Abort of the world.
class MpiCoordinatorEnd final : public schedule::CoordinatorEnd {
 public:
  explicit MpiCoordinatorEnd(CoordinatorChannels channels) : channels_(channels) {}
  std::optional<schedule::Envelope> try_receive() override;
  void send(int leader, const schedule::Envelope& envelope) override;
  void abort_all() noexcept override;

 private:
  CoordinatorChannels channels_;
};

// A leader's end; the coordinator is world rank 0.
class MpiLeaderEnd final : public schedule::LeaderEnd {
 public:
  explicit MpiLeaderEnd(CoordinatorChannels channels) : channels_(channels) {}
  void send(const schedule::Envelope& envelope) override;
  std::optional<schedule::Envelope> receive(schedule::MessageKind kind, double timeout_seconds) override;

 private:
  CoordinatorChannels channels_;
};

}  // namespace fracsweep::launcher
