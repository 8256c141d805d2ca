# Finds CUDA's runtime and NCCL (headers and libraries) for the GPU backend.
# Defines the imported target fracsweep::nccl and FRACSWEEP_HAVE_NCCL.
#
# One CUDA runtime and one NCCL per process: LibTorch's libtorch_cuda loads the
# ones its wheel carries (site-packages/nvidia/...), so those come first; a
# LibTorch without them (a cluster's own build) falls back to CUDA_HOME,
# CUDA_PATH, /usr/local/cuda and NCCL_HOME.
set(FRACSWEEP_HAVE_NCCL OFF)
if(NOT FRACSWEEP_WITH_NCCL STREQUAL "OFF")
  set(_wheel_nvidia "")
  if(TORCH_INSTALL_PREFIX AND EXISTS "${TORCH_INSTALL_PREFIX}/../nvidia")
    get_filename_component(_nv "${TORCH_INSTALL_PREFIX}/../nvidia" ABSOLUTE)
    file(GLOB _wheel_nvidia LIST_DIRECTORIES true "${_nv}/nccl" "${_nv}/cu1*"
         "${_nv}/cuda_runtime")
  endif()
  set(_cuda_hints ${_wheel_nvidia} $ENV{CUDA_HOME} $ENV{CUDA_PATH} /usr/local/cuda $ENV{NCCL_HOME})
  find_path(FRACSWEEP_CUDA_INCLUDE_DIR cuda_runtime.h HINTS ${_cuda_hints} PATH_SUFFIXES include
            NO_DEFAULT_PATH)
  find_library(FRACSWEEP_CUDART_LIBRARY NAMES cudart libcudart.so.13 libcudart.so.12 NAMES_PER_DIR
               HINTS ${_cuda_hints} PATH_SUFFIXES lib64 lib NO_DEFAULT_PATH)
  find_path(FRACSWEEP_NCCL_INCLUDE_DIR nccl.h HINTS ${_cuda_hints} PATH_SUFFIXES include
            NO_DEFAULT_PATH)
  find_library(FRACSWEEP_NCCL_LIBRARY NAMES nccl libnccl.so.2 NAMES_PER_DIR
               HINTS ${_cuda_hints} PATH_SUFFIXES lib64 lib NO_DEFAULT_PATH)
  if(FRACSWEEP_CUDA_INCLUDE_DIR AND FRACSWEEP_CUDART_LIBRARY AND FRACSWEEP_NCCL_INCLUDE_DIR
     AND FRACSWEEP_NCCL_LIBRARY)
    set(FRACSWEEP_HAVE_NCCL ON)
    # The version, for `fracsweep version`, which loads no NCCL to ask it.
    file(STRINGS ${FRACSWEEP_NCCL_INCLUDE_DIR}/nccl.h _nccl_defines
         REGEX "^#define NCCL_(MAJOR|MINOR|PATCH) ")
    foreach(_part MAJOR MINOR PATCH)
      string(REGEX MATCH "NCCL_${_part} ([0-9]+)" _m "${_nccl_defines}")
      set(_nccl_${_part} ${CMAKE_MATCH_1})
    endforeach()
    set(FRACSWEEP_NCCL_VERSION "${_nccl_MAJOR}.${_nccl_MINOR}.${_nccl_PATCH}")
    add_library(fracsweep_nccl_deps INTERFACE)
    target_include_directories(fracsweep_nccl_deps SYSTEM INTERFACE
                               ${FRACSWEEP_CUDA_INCLUDE_DIR} ${FRACSWEEP_NCCL_INCLUDE_DIR})
    target_link_libraries(fracsweep_nccl_deps INTERFACE
                          ${FRACSWEEP_NCCL_LIBRARY} ${FRACSWEEP_CUDART_LIBRARY})
    add_library(fracsweep::nccl ALIAS fracsweep_nccl_deps)
    message(STATUS "fracsweep: NCCL backend ON (${FRACSWEEP_NCCL_LIBRARY}, "
                   "${FRACSWEEP_CUDART_LIBRARY})")
  elseif(FRACSWEEP_WITH_NCCL STREQUAL "ON")
    message(FATAL_ERROR "FRACSWEEP_WITH_NCCL=ON but CUDA runtime or NCCL was not found; "
                        "set CUDA_HOME or NCCL_HOME, or configure with -DFRACSWEEP_WITH_NCCL=OFF")
  else()
    message(STATUS "fracsweep: NCCL backend OFF (CUDA runtime or NCCL not found)")
  endif()
endif()
