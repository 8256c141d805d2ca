// See threads.h.
#include "trainer/threads.h"

#include <algorithm>
#include <cstdlib>
#include <string>

namespace fracsweep::trainer {
namespace {

// The leading positive integer of an environment variable, or 0.
int env_count(const char* name) {
  const char* v = std::getenv(name);
  if (!v) return 0;
  char* end = nullptr;
  const long n = std::strtol(v, &end, 10);  // "4(x2)" style values: the first number
  return end != v && n > 0 && n < 1 << 20 ? static_cast<int>(n) : 0;
}

}  // namespace

int intra_op_threads(int configured, unsigned cores) {
  if (configured > 0) return configured;
  int ranks = env_count("OMPI_COMM_WORLD_LOCAL_SIZE");
  if (ranks == 0) ranks = env_count("SLURM_NTASKS_PER_NODE");
  if (ranks == 0) ranks = 1;
  return std::max(1, static_cast<int>(std::max(cores, 1u)) / ranks);
}

}  // namespace fracsweep::trainer
