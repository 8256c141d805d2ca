# Finds CUDA's runtime and NCCL (headers and libraries) for the GPU backend.
# Looks under CUDA_HOME, CUDA_PATH, /usr/local/cuda and NCCL_HOME, and under
# CMAKE_PREFIX_PATH (where a pip-installed nvidia-nccl sits on GPU machines).
# Defines the imported target fracsweep::nccl and FRACSWEEP_HAVE_NCCL.
set(FRACSWEEP_HAVE_NCCL OFF)
if(NOT FRACSWEEP_WITH_NCCL STREQUAL "OFF")
  set(_cuda_hints $ENV{CUDA_HOME} $ENV{CUDA_PATH} /usr/local/cuda $ENV{NCCL_HOME})
  find_path(FRACSWEEP_CUDA_INCLUDE_DIR cuda_runtime.h HINTS ${_cuda_hints} PATH_SUFFIXES include)
  find_library(FRACSWEEP_CUDART_LIBRARY cudart HINTS ${_cuda_hints} PATH_SUFFIXES lib64 lib)
  find_path(FRACSWEEP_NCCL_INCLUDE_DIR nccl.h HINTS ${_cuda_hints} PATH_SUFFIXES include)
  find_library(FRACSWEEP_NCCL_LIBRARY NAMES nccl libnccl.so.2
               HINTS ${_cuda_hints} PATH_SUFFIXES lib64 lib)
  if(FRACSWEEP_CUDA_INCLUDE_DIR AND FRACSWEEP_CUDART_LIBRARY AND FRACSWEEP_NCCL_INCLUDE_DIR
     AND FRACSWEEP_NCCL_LIBRARY)
    set(FRACSWEEP_HAVE_NCCL ON)
    add_library(fracsweep_nccl_deps INTERFACE)
    target_include_directories(fracsweep_nccl_deps SYSTEM INTERFACE
                               ${FRACSWEEP_CUDA_INCLUDE_DIR} ${FRACSWEEP_NCCL_INCLUDE_DIR})
    target_link_libraries(fracsweep_nccl_deps INTERFACE
                          ${FRACSWEEP_NCCL_LIBRARY} ${FRACSWEEP_CUDART_LIBRARY})
    add_library(fracsweep::nccl ALIAS fracsweep_nccl_deps)
    message(STATUS "fracsweep: NCCL backend ON (${FRACSWEEP_NCCL_LIBRARY})")
  elseif(FRACSWEEP_WITH_NCCL STREQUAL "ON")
    message(FATAL_ERROR "FRACSWEEP_WITH_NCCL=ON but CUDA runtime or NCCL was not found; "
                        "set CUDA_HOME or NCCL_HOME, or configure with -DFRACSWEEP_WITH_NCCL=OFF")
  else()
    message(STATUS "fracsweep: NCCL backend OFF (CUDA runtime or NCCL not found)")
  endif()
endif()
