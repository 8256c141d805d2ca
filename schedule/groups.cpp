// See groups.h.
#include "schedule/groups.h"

#include "core/error.h"

namespace fracsweep::schedule {

GroupLayout group_layout(int world_rank, int world_size, int ranks_per_job) {
  CHECK_OR_THROW(core::ConfigError, ranks_per_job >= 1, "ranks per job must be at least 1, not ",
                 ranks_per_job);
  CHECK_OR_THROW(core::ConfigError, world_size % ranks_per_job == 0, "the ", world_size,
                 " MPI ranks cannot form groups of ", ranks_per_job,
                 " ranks per job; start a multiple of ", ranks_per_job,
                 " ranks (mpirun -np) or change --ranks-per-job");
  GroupLayout g;
  g.group_size = ranks_per_job;
  g.groups = world_size / ranks_per_job;
  g.group = world_rank / ranks_per_job;
  g.group_rank = world_rank % ranks_per_job;
  for (int r = 0; r < ranks_per_job; ++r) g.ranks.push_back(g.group * ranks_per_job + r);
  return g;
}

}  // namespace fracsweep::schedule
