// How the hand-out protocol's messages travel (schedule/messages.h): the
// coordinator's end hears every leader and answers one; a leader's end talks
// to the coordinator alone. launcher/mpi_transport.h carries them over MPI,
// schedule/memory_transport.h between threads of one process.
#pragma once

#include <optional>

#include "schedule/messages.h"

namespace fracsweep::schedule {

// The coordinator's end. Used from the coordinator's thread only.
class CoordinatorEnd {
 public:
  virtual ~CoordinatorEnd() = default;
  // The next message from any leader, or nullopt at once when none is waiting
  // (the coordinator polls: a blocking wait would spin a core the training needs).
  virtual std::optional<Envelope> try_receive() = 0;
  // To the leader of world rank `leader`.
  virtual void send(int leader, const Envelope& envelope) = 0;
  // Ends every rank of the run (MPI: MPI_Abort, which does not return): the
  // coordinator failed (its ledger cannot be written), and ranks waiting on it
  // could not be released otherwise.
  virtual void abort_all() noexcept = 0;
};

// A group leader's end.
class LeaderEnd {
 public:
  virtual ~LeaderEnd() = default;
  virtual void send(const Envelope& envelope) = 0;
  // The coordinator's next message of `kind`, or nullopt when none came within
  // `timeout_seconds` (0: wait without limit).
  virtual std::optional<Envelope> receive(MessageKind kind, double timeout_seconds) = 0;
};

}  // namespace fracsweep::schedule
