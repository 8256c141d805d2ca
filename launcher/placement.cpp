// See placement.h.
#include "launcher/placement.h"

#include "core/error.h"
#include "launcher/mpi.h"
#include "trainer/backends.h"

namespace fracsweep::launcher {

int rank_device(int node_rank, int node_size, int cuda_devices, bool exclusive) {
  if (cuda_devices <= 0) return 0;
  CHECK_OR_THROW(core::ConfigError, !exclusive || node_size <= cuda_devices,
                 "--exclusive-gpus: this node runs ", node_size, " ranks but its ranks see ",
                 cuda_devices, " GPU(s); start at most ", cuda_devices,
                 " ranks per node (srun --ntasks-per-node, mpirun --map-by ppr:",
                 cuda_devices, ":node) or let ranks share GPUs (drop --exclusive-gpus)");
  return node_rank % cuda_devices;
}

RankPlacement place_rank(bool exclusive_gpus) {
  RankPlacement p;
  const MpiComm node = MpiComm::node_local(MPI_COMM_WORLD);
  p.node_rank = node.rank();
  p.node_size = node.size();
  p.cuda_devices = trainer::cuda_device_count();
  p.device = rank_device(p.node_rank, p.node_size, p.cuda_devices, exclusive_gpus);
  return p;
}

const char* sync_name(SyncBackend backend) {
  switch (backend) {
    case SyncBackend::kLocal: return "none (a group of one)";
    case SyncBackend::kMpi: return "MPI";
    case SyncBackend::kNccl: return "NCCL";
  }
  return "?";
}

SyncBackend choose_sync(int group_size, c10::DeviceType device, bool nccl_compiled) {
  if (group_size <= 1) return SyncBackend::kLocal;
  if (device != c10::DeviceType::CUDA) return SyncBackend::kMpi;
  CHECK_OR_THROW(core::ConfigError, nccl_compiled, "a group of ", group_size,
                 " ranks trains on CUDA, but this fracsweep was built without the NCCL backend "
                 "(`fracsweep version` says why); rebuild with CUDA and NCCL, train on the CPU "
                 "(train.device: cpu), or run one rank per job (--ranks-per-job 1)");
  return SyncBackend::kNccl;
}

void check_distinct_gpus(const std::vector<GroupMember>& members) {
  for (size_t i = 0; i < members.size(); ++i)
    for (size_t j = i + 1; j < members.size(); ++j) {
      const GroupMember &a = members[i], &b = members[j];
      CHECK_OR_THROW(core::ConfigError, a.host != b.host || a.device != b.device,
                     "ranks ", a.world_rank, " and ", b.world_rank, " of one data-parallel "
                     "group share GPU ", a.device, " on host ", a.host,
                     "; NCCL needs a GPU per rank of a group: give each rank its own GPU "
                     "(--exclusive-gpus, at most one rank per GPU), use fewer ranks per job "
                     "(--ranks-per-job), or train on the CPU (train.device: cpu)");
    }
}

}  // namespace fracsweep::launcher
