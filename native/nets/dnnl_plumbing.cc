#include "nets/dnnl_plumbing.h"

#ifdef SPHEREFACE_DNNL_KERNELS
#include <array>
#include <cstdlib>
#include <cstring>

namespace sphereface::dnnl_plumbing {

dnnl::engine& Engine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

bool EnabledByEnvironment(const char* name) {
  const char* setting = std::getenv(name);
  return setting == nullptr || std::strcmp(setting, "0") != 0;
}

bool BlockedConvsEnabled() {
  static const bool enabled = EnabledByEnvironment("SPHEREFACE_BLOCKED_CONVS");
  return enabled;
}

Tag ActivationTag(const torch::Tensor& t) {
  return t.dim() == 4 && t.is_contiguous(at::MemoryFormat::ChannelsLast) ? Tag::nhwc : Tag::nchw;
}

at::MemoryFormat FormatOf(Tag tag) {
  return tag == Tag::nhwc ? at::MemoryFormat::ChannelsLast : at::MemoryFormat::Contiguous;
}

memory View(const torch::Tensor& t, Tag tag) {
  return View(t, memory::dims(t.sizes().begin(), t.sizes().end()), tag);
}

memory View(const torch::Tensor& t, const memory::dims& dims, Tag tag) {
  return memory({dims, memory::data_type::f32, tag}, Engine(), t.data_ptr());
}

memory InSlot(const memory::desc& desc, Slot slot) {
  thread_local std::array<torch::Tensor, kSlotCount> buffers;
  torch::Tensor& buffer = buffers[slot];
  const auto bytes = static_cast<int64_t>(desc.get_size());
  if (!buffer.defined() || buffer.numel() < bytes) buffer = at::empty({bytes}, at::kByte);
  return memory(desc, Engine(), buffer.data_ptr());
}

memory Reordered(memory from, const memory::desc& desc, Slot slot, dnnl::stream& stream) {
  if (from.get_desc() == desc) return from;
  memory to = InSlot(desc, slot);
  dnnl::reorder(from, to).execute(stream, from, to);
  return to;
}

void CopyOut(memory result, const torch::Tensor& out, Tag tag, dnnl::stream& stream) {
  memory view = View(out, tag);
  if (result.get_desc() == view.get_desc()) {
    std::memcpy(out.data_ptr(), result.get_data_handle(), out.numel() * sizeof(float));
    return;
  }
  dnnl::reorder(result, view).execute(stream, result, view);
}

void Execute(const dnnl::primitive& primitive, const dnnl::primitive_desc_base& pd,
             std::unordered_map<int, memory> args, dnnl::stream& stream) {
  args.emplace(DNNL_ARG_SCRATCHPAD, InSlot(pd.scratchpad_desc(), kScratchSlot));
  primitive.execute(stream, args);
  stream.wait();
}

}  // namespace sphereface::dnnl_plumbing

#endif  // SPHEREFACE_DNNL_KERNELS
