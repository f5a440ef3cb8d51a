#include "nets/winograd_conv.h"

#include "nets/conv_weight_cache.h"
#include "nets/dnnl_plumbing.h"

#ifdef SPHEREFACE_DNNL_KERNELS
#include <algorithm>
#include <memory>
#include <optional>
#include <tuple>
#include <vector>
#endif

namespace sphereface {

namespace {

torch::Tensor DirectConv(const torch::Tensor& x, const torch::Tensor& weight) {
  return at::conv2d(x, weight, {}, /*stride=*/1, /*padding=*/1);
}

#ifdef SPHEREFACE_DNNL_KERNELS

bool WinogradEnabled() {
  static const bool enabled = dnnl_plumbing::EnabledByEnvironment("SPHEREFACE_WINOGRAD");
  return enabled;
}

bool Eligible(const torch::Tensor& x, const torch::Tensor& weight) {
  return x.is_cpu() && weight.is_cpu() && x.scalar_type() == at::kFloat &&
         weight.scalar_type() == at::kFloat && x.dim() == 4 && weight.dim() == 4 &&
         weight.size(1) == x.size(1) && weight.size(2) == 3 && weight.size(3) == 3;
}

using namespace dnnl_plumbing;  // NOLINT(build/namespaces): the file is about oneDNN
using torch::autograd::AutogradContext;
using torch::autograd::tensor_list;

// The primitives of one shape: for training the forward and both backward passes; for inference
// a forward_inference one alone, whose kernels may take weights transformed ahead (oneDNN's wino
// weight formats). oneDNN picks its blocked layouts and the weight formats; Reordered() converts
// to and from libtorch's layouts around each call.
struct Plan {
  dnnl::convolution_forward::primitive_desc forward_pd;
  dnnl::convolution_forward forward;
  // Training plans only.
  std::optional<dnnl::convolution_backward_data::primitive_desc> backward_data_pd;
  std::optional<dnnl::convolution_backward_weights::primitive_desc> backward_weights_pd;
  std::optional<dnnl::convolution_backward_data> backward_data;
  std::optional<dnnl::convolution_backward_weights> backward_weights;
};

// (images, channels in, channels out, height, width, inference)
using PlanKey = std::tuple<int64_t, int64_t, int64_t, int64_t, int64_t, bool>;

// Batches run through the kernels in chunks of this many images: the kernels run as fast per
// image as at 32, and the scratchpads' batch-sized parts shrink (at 8 images, 16 MB or less
// where Winograd pays off, the rest being transformed weights).
constexpr int64_t kChunk = 8;

struct Chunk {
  int64_t start, images;
};

// A batch's chunks: as few as kChunk allows, of sizes as near equal as can be (9 images: 5 and 4,
// not 8 and 1, whose one image would take the slower one-image kernels). The kernels' weight
// layout depends on the chunk's size, so a batch's chunks may want two (conv_weight_cache.h).
std::vector<Chunk> ChunksOf(int64_t n) {
  const int64_t count = (n + kChunk - 1) / kChunk;
  std::vector<Chunk> chunks;
  for (int64_t i = 0, start = 0; i < count; ++i) {
    const int64_t images = n / count + (i < n % count ? 1 : 0);
    chunks.push_back({start, images});
    start += images;
  }
  return chunks;
}

// The chunk sizes of a batch of n, each once (at most two).
std::vector<int64_t> ChunkSizesOf(int64_t n) {
  std::vector<int64_t> sizes;
  for (const Chunk& chunk : ChunksOf(n)) {
    if (std::find(sizes.begin(), sizes.end(), chunk.images) == sizes.end()) {
      sizes.push_back(chunk.images);
    }
  }
  return sizes;
}

// Shapes whose scratchpad would exceed this keep the direct kernels: at 8 images that is the
// 512-channel 7 x 6 stage (126 MB for its weight gradient, which lifted a sphere20 training step's
// peak memory above PyTorch's), where Winograd's few tiles measured slower than direct anyway.
// The 256-channel stage needs 44 MB.
constexpr size_t kMaxScratchpadBytes = size_t{48} << 20;

// nullptr when oneDNN has no Winograd kernel for the shape on this CPU (e.g. without AVX-512).
std::shared_ptr<const Plan> MakePlan(const PlanKey& key) {
  const auto [n, c, k, h, w, inference] = key;
  const memory::dims strides = {1, 1}, padding = {1, 1};
  const auto any = [](const memory::dims& dims) {
    return memory::desc(dims, memory::data_type::f32, Tag::any);
  };
  const memory::desc src = any({n, c, h, w}), weights = any({k, c, 3, 3}), dst = any({n, k, h, w});
  const auto algorithm = dnnl::algorithm::convolution_winograd;
  // The scratchpads hold transformed batches; Execute() hands every primitive one reused buffer.
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  try {
    dnnl::convolution_forward::primitive_desc forward_pd(
        {inference ? dnnl::prop_kind::forward_inference : dnnl::prop_kind::forward_training,
         algorithm, src, weights, dst, strides, padding, padding},
        attr, Engine());
    if (forward_pd.scratchpad_desc().get_size() > kMaxScratchpadBytes) return nullptr;
    Plan plan{forward_pd, dnnl::convolution_forward(forward_pd)};
    if (inference) return std::make_shared<const Plan>(std::move(plan));
    plan.backward_data_pd.emplace(
        dnnl::convolution_backward_data::desc{algorithm, src, weights, dst, strides, padding,
                                              padding},
        attr, Engine(), forward_pd);
    plan.backward_weights_pd.emplace(
        dnnl::convolution_backward_weights::desc{algorithm, src, weights, dst, strides, padding,
                                                 padding},
        attr, Engine(), forward_pd);
    for (const memory::desc& scratchpad :
         {plan.backward_data_pd->scratchpad_desc(), plan.backward_weights_pd->scratchpad_desc()}) {
      if (scratchpad.get_size() > kMaxScratchpadBytes) return nullptr;
    }
    plan.backward_data.emplace(*plan.backward_data_pd);
    plan.backward_weights.emplace(*plan.backward_weights_pd);
    return std::make_shared<const Plan>(std::move(plan));
  } catch (const dnnl::error&) {
    return nullptr;
  }
}

std::shared_ptr<const Plan> PlanFor(const PlanKey& key) { return CachedPlan(key, MakePlan); }

// The plan for a chunk of `images` of x (N x C x H x W) convolved with weight (K x C x 3 x 3).
std::shared_ptr<const Plan> PlanFor(int64_t images, const torch::Tensor& x,
                                    const torch::Tensor& weight, bool inference = false) {
  return PlanFor({images, x.size(1), weight.size(0), x.size(2), x.size(3), inference});
}

// The forward plans over a batch of n images (C channels in, H x W), chunk by chunk:
// `source(start, images)` and `result(start, images)` view a chunk's input and output, which may be
// in any layout; the input is reordered where the plan reads another, and the output written in
// place where the plan writes its layout. Where it reads the weights rather than kept ones, it
// leaves them as OIHW in `weight` (what a backward needs).
template <typename ChunkView>
void RunForward(const memory::dims& batch, const torch::Tensor& weight_in, bool inference,
                const ChunkView& source, const ChunkView& result, torch::Tensor& weight) {
  dnnl::stream stream(Engine());
  std::shared_ptr<const Plan> previous;
  memory weights;
  for (const auto [start, images] : ChunksOf(batch[0])) {
    const auto plan = PlanFor({images, batch[1], weight_in.size(0), batch[2], batch[3], inference});
    TORCH_CHECK(plan != nullptr, "Winograd conv: no plan for this shape (check UsesWinograd)");
    const auto& pd = plan->forward_pd;
    // The transformed weights serve every chunk of the same shape (and, in inference, every
    // call until the weights change: conv_weight_cache.h).
    if (plan != previous) {
      weights = WeightsAs(weight_in, pd.weights_desc(), kWeightsSlot, stream, weight);
      previous = plan;
    }
    memory src = Reordered(source(start, images), pd.src_desc(), kSourceSlot, stream);
    memory out = result(start, images);
    memory dst = out.get_desc() == pd.dst_desc() ? out : InSlot(pd.dst_desc(), kResultSlot);
    Execute(plan->forward, pd,
            {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, weights}, {DNNL_ARG_DST, dst}}, stream);
    if (dst.get_data_handle() != out.get_data_handle()) {
      dnnl::reorder(dst, out).execute(stream, dst, out);
      stream.wait();
    }
  }
}

// y = conv2d(x_in, weight_in, padding 1) through the training or the inference plans. Leaves the
// input it read in `x` (in its activation layout) and, where it read the weights rather than kept
// ones, `weight` as OIHW: what a backward needs.
torch::Tensor Forward(const torch::Tensor& x_in, const torch::Tensor& weight_in, bool inference,
                      torch::Tensor& x, torch::Tensor& weight) {
  const Tag tag = ActivationTag(x_in);
  x = x_in.contiguous(FormatOf(tag));
  torch::Tensor y = at::empty({x.size(0), weight_in.size(0), x.size(2), x.size(3)},
                              x.options().memory_format(FormatOf(tag)));
  const auto chunk_of = [tag](const torch::Tensor& t) {
    return
        [&t, tag](int64_t start, int64_t images) { return View(t.narrow(0, start, images), tag); };
  };
  RunForward({x.size(0), x.size(1), x.size(2), x.size(3)}, weight_in, inference, chunk_of(x),
             chunk_of(y), weight);
  return y;
}

// Adds a chunk's weight gradient into `sum`, a memory over the float tensor `sum_values` in the
// first chunk's layout (chunks of another size may have another).
void AddInto(const memory& sum, const torch::Tensor& sum_values, memory chunk,
             dnnl::stream& stream) {
  torch::Tensor converted;
  if (chunk.get_desc() != sum.get_desc()) {
    converted = at::empty_like(sum_values);
    memory to(sum.get_desc(), Engine(), converted.data_ptr());
    dnnl::reorder(chunk, to).execute(stream, chunk, to);
    chunk = to;
  }
  stream.wait();
  sum_values.add_(
      torch::from_blob(chunk.get_data_handle(), sum_values.sizes(), sum_values.options()));
}

class WinogradConvFunction : public torch::autograd::Function<WinogradConvFunction> {
 public:
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x_in,
                               const torch::Tensor& weight_in) {
    torch::Tensor x, weight;
    torch::Tensor y = Forward(x_in, weight_in, /*inference=*/false, x, weight);
    // Without `weight` the kept weights served every chunk: inference, which has no backward.
    ctx->save_for_backward({x, weight.defined() ? weight : weight_in});
    return y;
  }

  static tensor_list backward(AutogradContext* ctx, tensor_list grads) {
    const auto saved = ctx->get_saved_variables();
    const torch::Tensor& x = saved[0];
    const torch::Tensor weight = saved[1].contiguous();
    const Tag tag = ActivationTag(x);
    const torch::Tensor grad = grads[0].contiguous(FormatOf(tag));
    const bool want_x = ctx->needs_input_grad(0), want_weight = ctx->needs_input_grad(1);
    torch::Tensor grad_x = want_x ? at::empty_like(x, FormatOf(tag)) : torch::Tensor();
    // The chunks' weight gradients are summed in the kernels' blocked layout, which one reorder
    // at the end turns into OIHW (a permutation: the same sums as adding them in OIHW).
    torch::Tensor grad_weight_blocked;
    std::optional<memory> grad_weight_sum;
    dnnl::stream stream(Engine());
    std::shared_ptr<const Plan> previous;
    memory weights;
    for (const auto [start, images] : ChunksOf(x.size(0))) {
      const auto plan = PlanFor(images, x, weight);
      const memory grad_view = View(grad.narrow(0, start, images), tag);
      std::optional<memory> diff_dst_read;  // the blocked incoming gradient, for both passes
      if (want_weight) {
        const auto& pd = *plan->backward_weights_pd;
        memory src =
            Reordered(View(x.narrow(0, start, images), tag), pd.src_desc(), kSourceSlot, stream);
        diff_dst_read = Reordered(grad_view, pd.diff_dst_desc(), kResultSlot, stream);
        memory diff_weights = InSlot(pd.diff_weights_desc(), kGradWeightsSlot);
        Execute(*plan->backward_weights, pd,
                {{DNNL_ARG_SRC, src},
                 {DNNL_ARG_DIFF_DST, *diff_dst_read},
                 {DNNL_ARG_DIFF_WEIGHTS, diff_weights}},
                stream);
        if (!grad_weight_sum) {
          const memory::desc& desc = pd.diff_weights_desc();
          grad_weight_blocked =
              at::zeros({static_cast<int64_t>(desc.get_size() / sizeof(float))}, weight.options());
          grad_weight_sum.emplace(desc, Engine(), grad_weight_blocked.data_ptr());
        }
        AddInto(*grad_weight_sum, grad_weight_blocked, diff_weights, stream);
      }
      if (want_x) {
        const auto& pd = *plan->backward_data_pd;
        memory diff_dst = diff_dst_read && diff_dst_read->get_desc() == pd.diff_dst_desc()
                              ? *diff_dst_read
                              : Reordered(grad_view, pd.diff_dst_desc(), kResultSlot, stream);
        if (plan != previous) {
          weights = Reordered(View(weight, Tag::oihw), pd.weights_desc(), kWeightsSlot, stream);
          previous = plan;
        }
        memory diff_src = InSlot(pd.diff_src_desc(), kSourceSlot);
        Execute(*plan->backward_data, pd,
                {{DNNL_ARG_DIFF_DST, diff_dst},
                 {DNNL_ARG_WEIGHTS, weights},
                 {DNNL_ARG_DIFF_SRC, diff_src}},
                stream);
        CopyOut(diff_src, grad_x.narrow(0, start, images), tag, stream);
      }
    }
    torch::Tensor grad_weight;
    if (want_weight) {
      grad_weight = at::empty_like(weight);
      CopyOut(*grad_weight_sum, grad_weight, Tag::oihw, stream);
    }
    stream.wait();
    return {grad_x, grad_weight};
  }
};

// model.embed's convs: the inference kernels, with the weights kept in the conv weight cache.
torch::Tensor InferenceConv(const torch::Tensor& x_in, const torch::Tensor& weight_in) {
  torch::Tensor x, weight;
  return Forward(x_in, weight_in, /*inference=*/true, x, weight);
}

// Whether every chunk of x's batch has a plan of the kind asked for.
bool HasPlans(const torch::Tensor& x, const torch::Tensor& weight, bool inference) {
  if (!WinogradEnabled() || !Eligible(x, weight)) return false;
  for (const int64_t images : ChunkSizesOf(x.size(0))) {
    if (PlanFor(images, x, weight, inference) == nullptr) return false;
  }
  return true;
}

memory::dims LogicalDims(const torch::Tensor& blocked) {
  return {blocked.size(0), blocked.size(1) * kChannelBlock, blocked.size(2), blocked.size(3)};
}

memory BlockedView(const torch::Tensor& blocked) {
  return View(blocked, LogicalDims(blocked), Tag::nChw16c);
}

// Whether the inference plan of every chunk of an N x C x H x W batch reads and writes nChw16c.
bool HasBlockedPlans(const memory::dims& dims, int64_t out_channels) {
  const int64_t n = dims[0], c = dims[1], h = dims[2], w = dims[3];
  if (c % kChannelBlock != 0 || out_channels % kChannelBlock != 0) return false;
  for (const int64_t images : ChunkSizesOf(n)) {
    const auto plan = PlanFor({images, c, out_channels, h, w, /*inference=*/true});
    const auto blocked = [&](int64_t channels) {
      return memory::desc({images, channels, h, w}, memory::data_type::f32, Tag::nChw16c);
    };
    if (plan == nullptr || plan->forward_pd.src_desc() != blocked(c) ||
        plan->forward_pd.dst_desc() != blocked(out_channels)) {
      return false;
    }
  }
  return true;
}

#endif  // SPHEREFACE_DNNL_KERNELS

}  // namespace

bool UsesBlockedInference(const torch::Tensor& x, const torch::Tensor& weight) {
#ifdef SPHEREFACE_DNNL_KERNELS
  return ConvWeightCacheInUse() && !at::GradMode::is_enabled() && WinogradEnabled() &&
         BlockedConvsEnabled() && Eligible(x, weight) && weight.size(0) == weight.size(1) &&
         HasBlockedPlans({x.size(0), x.size(1), x.size(2), x.size(3)}, weight.size(0));
#else
  return false;
#endif
}

#ifdef SPHEREFACE_DNNL_KERNELS
torch::Tensor ToBlocked(const torch::Tensor& x) {
  const Tag tag = ActivationTag(x);
  const torch::Tensor input = x.contiguous(FormatOf(tag));
  torch::Tensor blocked = at::empty(
      {x.size(0), x.size(1) / kChannelBlock, x.size(2), x.size(3), kChannelBlock}, x.options());
  dnnl::stream stream(Engine());
  memory from = View(input, tag), to = BlockedView(blocked);
  dnnl::reorder(from, to).execute(stream, from, to);
  stream.wait();
  return blocked;
}

torch::Tensor FromBlocked(const torch::Tensor& blocked, at::MemoryFormat format) {
  const memory::dims dims = LogicalDims(blocked);
  torch::Tensor x = at::empty(dims, blocked.options().memory_format(format));
  dnnl::stream stream(Engine());
  memory from = BlockedView(blocked), to = View(x, ActivationTag(x));
  dnnl::reorder(from, to).execute(stream, from, to);
  stream.wait();
  return x;
}

torch::Tensor Conv3x3Blocked(const torch::Tensor& blocked, const torch::Tensor& weight) {
  torch::Tensor y = at::empty_like(blocked), oihw;
  // HasBlockedPlans checked that the kernels read and write this layout: no reorders.
  const auto chunk_of = [](const torch::Tensor& t) {
    return [&t](int64_t start, int64_t images) { return BlockedView(t.narrow(0, start, images)); };
  };
  RunForward(LogicalDims(blocked), weight, /*inference=*/true, chunk_of(blocked), chunk_of(y),
             oihw);
  return y;
}
#else
// Never called: UsesBlockedInference is false in builds without oneDNN's kernels.
torch::Tensor ToBlocked(const torch::Tensor&) {
  TORCH_CHECK(false, "built without oneDNN kernels");
  return {};
}
torch::Tensor FromBlocked(const torch::Tensor&, at::MemoryFormat) {
  TORCH_CHECK(false, "built without oneDNN kernels");
  return {};
}
torch::Tensor Conv3x3Blocked(const torch::Tensor&, const torch::Tensor&) {
  TORCH_CHECK(false, "built without oneDNN kernels");
  return {};
}
#endif

bool WinogradAvailable() {
#ifdef SPHEREFACE_DNNL_KERNELS
  if (!WinogradEnabled()) return false;
  // A small probe shape: whether this CPU has the kernels at all.
  return MakePlan({1, 16, 16, 8, 8, false}) != nullptr;
#else
  return false;
#endif
}

bool UsesWinograd(const torch::Tensor& x, const torch::Tensor& weight, bool inference) {
#ifdef SPHEREFACE_DNNL_KERNELS
  return HasPlans(x, weight, inference);
#else
  return false;
#endif
}

torch::Tensor Conv3x3(const torch::Tensor& x, const torch::Tensor& weight) {
#ifdef SPHEREFACE_DNNL_KERNELS
  if (ConvWeightCacheInUse() && !at::GradMode::is_enabled()) {
    if (HasPlans(x, weight, /*inference=*/true)) return InferenceConv(x, weight);
    return DirectConv(x, weight);
  }
  if (UsesWinograd(x, weight)) return WinogradConvFunction::apply(x, weight);
#endif
  return DirectConv(x, weight);
}

}  // namespace sphereface
