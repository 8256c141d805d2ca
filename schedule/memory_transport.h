// The hand-out protocol between threads of one process: every leader and the
// coordinator share queues in memory. The coordinator's tests run on it
// without mpirun; abort_all() makes every leader's wait throw instead of
// ending the process.
#pragma once

#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>

#include "schedule/transport.h"

namespace fracsweep::schedule {

class MemoryTransport {
 public:
  MemoryTransport();
  MemoryTransport(const MemoryTransport&) = delete;
  MemoryTransport& operator=(const MemoryTransport&) = delete;
  ~MemoryTransport();

  CoordinatorEnd& coordinator();
  // The end of the leader of world rank `leader` (made on first use).
  LeaderEnd& leader(int leader);
  bool aborted() const;

 private:
  class CoordinatorSide;
  class LeaderSide;
  struct Shared;
  std::shared_ptr<Shared> shared_;
  std::unique_ptr<CoordinatorSide> coordinator_;
  std::map<int, std::unique_ptr<LeaderSide>> leaders_;
  std::mutex leaders_mutex_;
};

}  // namespace fracsweep::schedule
