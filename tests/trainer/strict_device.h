// A test device that stands in for a GPU where none is: tensors on it live in
// host memory and every operation computes on the CPU, but, as on CUDA, an
// operation that mixes its tensors with CPU tensors (other than 0-dim
// scalars) or with a CPU random generator is refused, naming the operation.
//
// So a training step on this device fails exactly where a tensor a model or a
// loss makes would be on the wrong device on a GPU. It is PyTorch's
// PrivateUse1 backend: kernels for allocation, copies and views, and a boxed
// fallback for everything else that checks devices and then runs the CPU
// kernel (at::native::cpu_fallback).
#pragma once

#include <c10/core/Device.h>

namespace fracsweep::testing {

// The device ("strict:0"); its kernels are registered when the test
// executable loads.
c10::Device strict_device();

}  // namespace fracsweep::testing
