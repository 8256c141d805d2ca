// See strict_device.h. The fallback runs the CPU kernel on host aliases of the
// device's tensors (they share memory), so every in-place update, declared in
// the operator's schema or not (batch norm's running statistics), lands in
// the device tensors; results that alias an argument are returned as views of
// the device tensor, fresh results are copied onto the device.
#include "trainer/strict_device.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/EmptyTensor.h>
#include <ATen/detail/PrivateUse1HooksInterface.h>
#include <ATen/native/Resize.h>
#include <ATen/ops/_reshape_alias_native.h>
#include <ATen/ops/as_strided_native.h>
#include <ATen/ops/unfold_native.h>
#include <ATen/ops/view_native.h>
#include <c10/core/Allocator.h>
#include <c10/core/impl/DeviceGuardImplInterface.h>
#include <c10/core/impl/alloc_cpu.h>
#include <torch/library.h>

#include <cstring>
#include <string>
#include <vector>

namespace fracsweep::testing {
namespace {

constexpr c10::DeviceType kStrict = c10::DeviceType::PrivateUse1;

// Host memory that says it is on the strict device.
struct HostMemory final : c10::Allocator {
  c10::DataPtr allocate(size_t bytes) override {
    void* p = c10::alloc_cpu(bytes);
    return {p, p, &c10::free_cpu, c10::Device(kStrict, 0)};
  }
  c10::DeleterFnPtr raw_deleter() const override { return &c10::free_cpu; }
  void copy_data(void* dst, const void* src, size_t bytes) const override {
    default_copy_data(dst, src, bytes);
  }
};

// The allocator registry keeps a raw pointer: static storage.
HostMemory host_memory;
REGISTER_ALLOCATOR(kStrict, &host_memory);

c10::DispatchKeySet strict_keys() { return c10::DispatchKeySet(c10::DispatchKey::PrivateUse1); }

bool on_strict(const at::Tensor& t) { return t.defined() && t.device().type() == kStrict; }

// A CPU tensor over the same bytes as `t` (a strict-device tensor). Its
// storage may grow (an out= argument resized by a kernel): it then moves to
// CPU memory, which take_back() copies home.
at::Tensor host_alias(const at::Tensor& t) {
  c10::Storage storage(c10::Storage::use_byte_size_t{}, t.storage().nbytes(),
                       c10::DataPtr(t.storage().mutable_data(), c10::Device(c10::kCPU)),
                       c10::GetCPUAllocator(), /*resizable=*/true);
  at::Tensor h = at::empty({0}, t.options().device(c10::kCPU));
  h.set_(storage, t.storage_offset(), t.sizes(), t.strides());
  return h;
}

// Gives `orig` the geometry, and where the kernel reallocated, the bytes of
// its host alias `h` after a kernel wrote to it.
void take_back(const at::Tensor& orig, const at::Tensor& h) {
  c10::StorageImpl* storage = orig.storage().unsafeGetStorageImpl();
  if (h.storage().data() != orig.storage().data()) {
    at::native::resize_bytes_cpu(storage, h.storage().nbytes());
    std::memcpy(storage->mutable_data(), h.storage().data(), h.storage().nbytes());
  }
  orig.unsafeGetTensorImpl()->set_sizes_and_strides(h.sizes(), h.strides(), h.storage_offset());
}

bool same_geometry(const at::Tensor& a, const at::Tensor& b) {
  return a.sizes() == b.sizes() && a.strides() == b.strides() &&
         a.storage_offset() == b.storage_offset();
}

// The CPU tensors and CPU generators among an operator's arguments that a GPU
// would refuse next to device tensors (0-dim CPU tensors are scalars there).
struct Census {
  bool device = false;
  std::vector<std::string> host;

  void add(const c10::IValue& v, const std::string& arg) {
    if (v.isTensor()) {
      const at::Tensor& t = v.toTensor();
      if (on_strict(t)) device = true;
      else if (t.defined() && t.is_cpu() && t.dim() > 0)
        host.push_back(arg + " " + c10::str(t.sizes()));
    } else if (v.isList()) {
      for (const c10::IValue& e : v.toListRef()) add(e, arg + "[]");
    } else if (v.isGenerator()) {
      const at::Generator& g = v.toGenerator();
      if (g.defined() && g.device().is_cpu()) host.push_back(arg + " (a CPU generator)");
    }
  }
};

void refuse_mixed_devices(const c10::OperatorHandle& op, const torch::jit::Stack& stack) {
  const auto& args = op.schema().arguments();
  Census census;
  for (size_t i = 0; i < args.size(); ++i)
    census.add(stack[stack.size() - args.size() + i], args[i].name());
  if (!census.device || census.host.empty()) return;
  std::string which;
  for (const std::string& h : census.host) which += (which.empty() ? "" : ", ") + h;
  TORCH_CHECK(false, "strict device: ", op.schema().operator_name(),
              " mixes tensors on the device with CPU ", which,
              " (on CUDA: expected all tensors to be on the same device)");
}

// Replaces every strict-device tensor argument by its host alias; returns the
// (original, alias) pairs.
std::vector<std::pair<at::Tensor, at::Tensor>> to_host_aliases(size_t n, torch::jit::Stack& stack) {
  std::vector<std::pair<at::Tensor, at::Tensor>> pairs;
  auto swap = [&](const at::Tensor& t) {
    if (!on_strict(t)) return t;
    pairs.emplace_back(t, host_alias(t));
    return pairs.back().second;
  };
  for (size_t i = stack.size() - n; i < stack.size(); ++i) {
    c10::IValue& v = stack[i];
    if (v.isTensor()) {
      v = swap(v.toTensor());
    } else if (v.isTensorList()) {
      c10::List<at::Tensor> list;
      for (const at::Tensor& t : v.toTensorVector()) list.push_back(swap(t));
      v = list;
    } else if (v.isOptionalTensorList()) {
      c10::List<std::optional<at::Tensor>> list;
      for (const std::optional<at::Tensor>& t : v.toOptionalTensorList())
        list.push_back(t ? std::optional<at::Tensor>(swap(*t)) : std::nullopt);
      v = list;
    }
  }
  return pairs;
}

// A result of the CPU kernel as a strict-device tensor: the argument itself or
// a view of it where it aliases one, else a copy.
at::Tensor to_strict(const at::Tensor& r,
                     const std::vector<std::pair<at::Tensor, at::Tensor>>& pairs) {
  if (!r.defined() || !r.is_cpu()) return r;
  for (const auto& [orig, h] : pairs) {
    if (!r.storage().is_alias_of(h.storage())) continue;
    if (same_geometry(r, orig)) return orig;
    return orig.as_strided(r.sizes(), r.strides(), r.storage_offset());
  }
  return r.to(strict_device());
}

void strict_fallback(const c10::OperatorHandle& op, torch::jit::Stack* stack) {
  refuse_mixed_devices(op, *stack);
  const auto pairs = to_host_aliases(op.schema().arguments().size(), *stack);
  op.redispatchBoxed(c10::DispatchKeySet(c10::DispatchKey::CPU), stack);
  for (const auto& [orig, h] : pairs)
    if (h.storage().data() != orig.storage().data() || !same_geometry(h, orig)) take_back(orig, h);
  const size_t n = op.schema().returns().size();
  for (size_t i = stack->size() - n; i < stack->size(); ++i) {
    c10::IValue& v = (*stack)[i];
    if (v.isTensor()) {
      v = to_strict(v.toTensor(), pairs);
    } else if (v.isTensorList()) {
      c10::List<at::Tensor> list;
      for (const at::Tensor& t : v.toTensorVector()) list.push_back(to_strict(t, pairs));
      v = list;
    }
  }
}

at::Tensor empty(c10::IntArrayRef size, std::optional<c10::ScalarType> dtype,
                 std::optional<c10::Layout>, std::optional<c10::Device>, std::optional<bool>,
                 std::optional<c10::MemoryFormat> format) {
  return at::detail::empty_generic(size, &host_memory, strict_keys(), c10::dtype_or_default(dtype),
                                   format);
}

at::Tensor empty_strided(c10::IntArrayRef size, c10::IntArrayRef stride,
                         std::optional<c10::ScalarType> dtype, std::optional<c10::Layout>,
                         std::optional<c10::Device>, std::optional<bool>) {
  return at::detail::empty_strided_generic(size, stride, &host_memory, strict_keys(),
                                           c10::dtype_or_default(dtype));
}

// Copies between the host and the device, or on the device.
at::Tensor copy_from(const at::Tensor& self, const at::Tensor& dst, bool /*non_blocking*/) {
  const at::Tensor src = on_strict(self) ? host_alias(self) : self;
  at::Tensor out = on_strict(dst) ? host_alias(dst) : dst;
  out.copy_(src);
  return dst;
}

const at::Tensor& resize_on_device(const at::Tensor& self, c10::IntArrayRef size,
                         std::optional<c10::MemoryFormat> format) {
  at::native::resize_impl_cpu_(self.unsafeGetTensorImpl(), size, std::nullopt);
  if (format && *format != c10::MemoryFormat::Preserve)
    self.unsafeGetTensorImpl()->empty_tensor_restride(*format);
  return self;
}

at::Tensor copy_from_and_resize(const at::Tensor& self, const at::Tensor& dst) {
  resize_on_device(dst, self.sizes(), std::nullopt);
  return copy_from(self, dst, false);
}

// The serializer views a device tensor's whole storage (then copies it home).
at::Tensor& set_storage(at::Tensor& self, c10::Storage storage, int64_t offset,
                        c10::IntArrayRef size, c10::IntArrayRef stride) {
  TORCH_CHECK(storage.device().type() == kStrict, "strict device: set_ with a storage on ",
              storage.device());
  self.unsafeGetTensorImpl()->set_storage_keep_dtype(std::move(storage));
  self.unsafeGetTensorImpl()->set_storage_offset(offset);
  at::native::resize_impl_cpu_(self.unsafeGetTensorImpl(), size, stride);
  return self;
}

// Module::to() swaps a parameter's data for the moved tensor (set_data), which
// asks whether the two tensor types may share a TensorImpl: dense on both.
bool compatible_shallow_copy(const at::Tensor&, const at::Tensor&) { return true; }

TORCH_LIBRARY_IMPL(aten, PrivateUse1, m) {
  m.impl("empty.memory_format", &empty);
  m.impl("empty_strided", &empty_strided);
  m.impl("_copy_from", &copy_from);
  m.impl("_copy_from_and_resize", &copy_from_and_resize);
  m.impl("resize_", &resize_on_device);
  m.impl("set_.source_Storage_storage_offset", &set_storage);
  m.impl("as_strided", &at::native::as_strided_tensorimpl);
  m.impl("view", &at::native::view);
  m.impl("_reshape_alias", &at::native::_reshape_alias);
  m.impl("unfold", &at::native::unfold);
  m.impl("_has_compatible_shallow_copy_type", &compatible_shallow_copy);
}

// Operators whose composite kernels choose an implementation by device type
// (they would ask for a backend's own convolution): sent to the CPU's whole.
TORCH_LIBRARY_IMPL(aten, PrivateUse1, m) {
  for (const char* op : {"convolution", "convolution_backward"})
    m.impl(op, torch::CppFunction::makeFromBoxedFunction<&strict_fallback>());
}

TORCH_LIBRARY_IMPL(_, PrivateUse1, m) {
  m.fallback(torch::CppFunction::makeFromBoxedFunction<&strict_fallback>());
}

}  // namespace

namespace {
// One device (index 0) with one stream, and events that are done when
// recorded: the device computes synchronously on the host.
struct StrictGuard final : c10::impl::DeviceGuardImplInterface {
  static c10::Device device() { return c10::Device(kStrict, 0); }
  static c10::Stream stream() { return c10::Stream(c10::Stream::DEFAULT, device()); }

  c10::DeviceType type() const override { return kStrict; }
  c10::Device exchangeDevice(c10::Device) const override { return device(); }
  c10::Device getDevice() const override { return device(); }
  void setDevice(c10::Device) const override {}
  void uncheckedSetDevice(c10::Device) const noexcept override {}
  c10::Stream getStream(c10::Device) const noexcept override { return stream(); }
  c10::Stream getNewStream(c10::Device, int) const override { return stream(); }
  c10::Stream exchangeStream(c10::Stream) const noexcept override { return stream(); }
  c10::DeviceIndex deviceCount() const noexcept override { return 1; }
  void record(void** event, const c10::Stream&, c10::DeviceIndex, c10::EventFlag) const override {
    *event = reinterpret_cast<void*>(1);  // any non-null handle: "recorded"
  }
  void block(void*, const c10::Stream&) const override {}
  bool queryEvent(void*) const override { return true; }
  void synchronizeEvent(void*) const override {}
  void synchronizeStream(const c10::Stream&) const override {}
  void synchronizeDevice(c10::DeviceIndex) const override {}
  bool queryStream(const c10::Stream&) const override { return true; }
};
}  // namespace

C10_REGISTER_GUARD_IMPL(PrivateUse1, StrictGuard);

namespace {

// Random draws on the device come from a CPU generator that says it is on the
// device (torch::manual_seed seeds it with the rest).
struct StrictGenerator final : at::CPUGeneratorImpl {
  StrictGenerator() {
    device_ = c10::Device(kStrict, 0);
    key_set_ = strict_keys();
  }
};

// What the runtime asks of an accelerator: it is there, with one device.
struct StrictHooks final : at::PrivateUse1HooksInterface {
  bool isBuilt() const override { return true; }
  bool isAvailable() const override { return true; }
  bool hasPrimaryContext(c10::DeviceIndex) const override { return true; }
  const at::Generator& getDefaultGenerator(c10::DeviceIndex) const override { return generator_; }
  at::Device getDeviceFromPtr(void*) const override { return c10::Device(kStrict, 0); }
  c10::Allocator* getPinnedMemoryAllocator() const override { return c10::GetCPUAllocator(); }

 private:
  at::Generator generator_ = at::make_generator<StrictGenerator>();
};

// Registered for the process's life: the registry keeps a raw pointer.
StrictHooks hooks;
const bool hooked = (at::RegisterPrivateUse1HooksInterface(&hooks), true);

// A named PrivateUse1 backend is the process's accelerator, whose streams the
// autograd engine asks for when it accumulates device gradients; unnamed, it
// would ask the CUDA runtime, which has no driver here.
const bool named = (c10::register_privateuse1_backend("strict"), true);
}  // namespace

c10::Device strict_device() { return c10::Device(kStrict, 0); }

}  // namespace fracsweep::testing
