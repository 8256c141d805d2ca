// How the ranks of a run form data-parallel groups: group `group` of `groups`
// holds world ranks [group * size, (group + 1) * size), its first rank leading.
#pragma once

#include <vector>

namespace fracsweep::schedule {

struct GroupLayout {
  int group = 0, groups = 1;
  int group_rank = 0, group_size = 1;
  std::vector<int> ranks;  // the group's world ranks
  bool leader() const { return group_rank == 0; }
};

// Throws core::ConfigError when `world_size` is not a multiple of `ranks_per_job`.
GroupLayout group_layout(int world_rank, int world_size, int ranks_per_job);

}  // namespace fracsweep::schedule
