// Which GPU a rank trains on and which gradient sync its group uses: the one
// place where devices and backends are chosen for `fracsweep run`.
//
// A rank's GPU is its node-local rank modulo the GPUs it sees (the node-local
// rank comes from MPI_Comm_split_type(MPI_COMM_TYPE_SHARED), not from a
// launcher's environment variables), so several ranks, and so several small
// jobs, can share one GPU. With exclusive GPUs every rank of a node needs a
// GPU of its own. A group on CUDA reduces through NCCL, on the CPU through MPI;
// a group of one needs neither.
#pragma once

#include <mpi.h>

#include <string>
#include <vector>

#include <c10/core/DeviceType.h>

namespace fracsweep::launcher {

// The GPU for node-local rank `node_rank` of `node_size` ranks on a node whose
// ranks see `cuda_devices` GPUs: node_rank mod cuda_devices, or 0 when none is
// visible (the rank then trains on the CPU). Throws core::ConfigError when
// `exclusive` and the node has more ranks than GPUs.
int rank_device(int node_rank, int node_size, int cuda_devices, bool exclusive);

// Where this rank stands on its node (collective over MPI_COMM_WORLD).
struct RankPlacement {
  int node_rank = 0, node_size = 1;
  int cuda_devices = 0;  // GPUs visible to this rank
  int device = 0;        // rank_device() of the above
};
RankPlacement place_rank(bool exclusive_gpus);

enum class SyncBackend { kLocal, kMpi, kNccl };
const char* sync_name(SyncBackend backend);

// The gradient sync for a group of `group_size` ranks training on `device`.
// Throws core::ConfigError for a CUDA group of several ranks in a build
// without the NCCL backend.
SyncBackend choose_sync(int group_size, c10::DeviceType device, bool nccl_compiled);

// One rank of a group as NCCL sees it.
struct GroupMember {
  int world_rank = 0;
  std::string host;
  int device = 0;
};
// Throws core::ConfigError when two members share a host and a GPU (NCCL
// cannot put two ranks of one communicator on one device), naming both and
// what to change.
void check_distinct_gpus(const std::vector<GroupMember>& members);

}  // namespace fracsweep::launcher
