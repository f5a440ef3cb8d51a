// What the oneDNN-backed convs (winograd_conv.cc, strided_conv_stack.cc) share: the engine, views
// of libtorch tensors as oneDNN memories, reorders, and per-thread reused buffers. Compiled only
// when the addon links the same shared oneDNN 2.x that libtorch links (SPHEREFACE_WITH_DNNL, set by
// CMake); SPHEREFACE_DNNL_KERNELS tells the users whether it is there.
#pragma once

#ifdef SPHEREFACE_WITH_DNNL
#include <oneapi/dnnl/dnnl.hpp>
// The primitive-descriptor API used here is oneDNN 2.x's (Debian bookworm ships 2.6).
#if DNNL_VERSION_MAJOR == 2
#define SPHEREFACE_DNNL_KERNELS 1
#endif
#endif

#ifdef SPHEREFACE_DNNL_KERNELS
#include <torch/torch.h>

#include <map>
#include <memory>
#include <mutex>
#include <unordered_map>

namespace sphereface::dnnl_plumbing {

using dnnl::memory;
using Tag = memory::format_tag;

dnnl::engine& Engine();

// Whether the environment variable `name` is unset or anything but "0".
bool EnabledByEnvironment(const char* name);

// oneDNN's nChw16c: an N x C x H x W tensor stored as N x C/16 x H x W x 16.
constexpr int64_t kChannelBlock = 16;

// Whether activations may stay in oneDNN's nChw16c layout from conv to conv (sphere-cnn4's
// stack, model.embed's residual stages): SPHEREFACE_BLOCKED_CONVS unset or not 0.
bool BlockedConvsEnabled();

// nhwc for a channels-last 4-d tensor, nchw otherwise.
Tag ActivationTag(const torch::Tensor& t);
at::MemoryFormat FormatOf(Tag tag);

// A float32 tensor's storage as a oneDNN memory laid out as `tag` (no copy).
memory View(const torch::Tensor& t, Tag tag);
// The same with the logical dims given, for a tensor whose shape is a blocked layout's (e.g. a
// 5-d N x C/16 x H x W x 16 tensor seen as nChw16c with dims N x C x H x W).
memory View(const torch::Tensor& t, const memory::dims& dims, Tag tag);

// Per-thread buffers, grown to the largest request and kept: fresh ones per call fault their
// pages in every time (measured: most of the Winograd speed-up lost) and leave peak memory to
// the allocator's reuse (measured: peaks 190 MB apart between runs). The buffers hold only what
// one call needs while it runs; a call's simultaneous buffers take different slots.
enum Slot { kSourceSlot, kWeightsSlot, kGradWeightsSlot, kResultSlot, kScratchSlot, kSlotCount };
memory InSlot(const memory::desc& desc, Slot slot);

// `from` in the layout `desc` asks for: itself when it already is, else a copy in `slot`.
memory Reordered(memory from, const memory::desc& desc, Slot slot, dnnl::stream& stream);

// Copies a oneDNN result into `out` (a float32 tensor laid out as `tag`).
void CopyOut(memory result, const torch::Tensor& out, Tag tag, dnnl::stream& stream);

// Runs `primitive` with this thread's scratchpad (its descriptor built in user scratchpad mode)
// and waits for it.
void Execute(const dnnl::primitive& primitive, const dnnl::primitive_desc_base& pd,
             std::unordered_map<int, memory> args, dnnl::stream& stream);

// The plan for `key`, made by `make` at its first use and then shared by every model: making one
// takes milliseconds, and oneDNN primitives may run concurrently from several threads. A null plan
// (a shape the kernels do not take) is kept too.
template <typename Key, typename Plan>
std::shared_ptr<const Plan> CachedPlan(const Key& key,
                                       std::shared_ptr<const Plan> (*make)(const Key&)) {
  static std::mutex mutex;
  static std::map<Key, std::shared_ptr<const Plan>> plans;
  std::lock_guard<std::mutex> lock(mutex);
  auto found = plans.find(key);
  if (found == plans.end()) found = plans.emplace(key, make(key)).first;
  return found->second;
}

}  // namespace sphereface::dnnl_plumbing

#endif  // SPHEREFACE_DNNL_KERNELS
