// See backends.h.
#include "trainer/backends.h"

#include "core/error.h"

#ifdef FRACSWEEP_HAVE_NCCL
#include "trainer/nccl_comm.h"
#endif

namespace fracsweep::trainer {

bool nccl_compiled() {
#ifdef FRACSWEEP_HAVE_NCCL
  return true;
#else
  return false;
#endif
}

int cuda_device_count() {
#ifdef FRACSWEEP_HAVE_NCCL
  int count = 0;
  // No driver or no device is an expected absence here, not an error.
  if (cudaGetDeviceCount(&count) != cudaSuccess) return 0;
  return count;
#else
  return 0;
#endif
}

std::string backend_summary() {
#ifdef FRACSWEEP_HAVE_NCCL
  int version = 0, runtime = 0;
  ncclGetVersion(&version);
  // The runtime this process loaded (LibTorch's and fracsweep's are one library).
  if (cudaRuntimeGetVersion(&runtime) != cudaSuccess) runtime = 0;
  return core::str_cat("nccl: compiled (NCCL ", version / 10000, ".", (version / 100) % 100, ".",
                       version % 100, ", CUDA runtime ", runtime / 1000, ".",
                       (runtime % 1000) / 10, "), ", cuda_device_count(),
                       " CUDA device(s) visible");
#else
  return "nccl: not compiled (CUDA or NCCL not found at configure time)";
#endif
}

}  // namespace fracsweep::trainer
