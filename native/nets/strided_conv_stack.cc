#include "nets/strided_conv_stack.h"

#include "nets/dnnl_plumbing.h"

#ifdef SPHEREFACE_DNNL_KERNELS
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#endif

namespace sphereface {

namespace {

constexpr int64_t kStride = 2;

torch::Tensor DirectStack(torch::Tensor x, const std::vector<ConvWithBias>& layers) {
  for (const auto& layer : layers) x = at::conv2d(x, layer.weight, layer.bias, kStride).relu_();
  return x.flatten(1);
}

#ifdef SPHEREFACE_DNNL_KERNELS

using namespace dnnl_plumbing;  // NOLINT(build/namespaces): the file is about oneDNN
using torch::autograd::AutogradContext;
using torch::autograd::tensor_list;

int64_t OutputSide(int64_t side) { return (side - 3) / kStride + 1; }

// The primitives of one layer shape. The source is nChw16c except for the first layer, whose
// (3-channel) input oneDNN gets in the layout its kernel asks for; the destination is always
// nChw16c; the weights are in oneDNN's choice of blocked format.
struct Plan {
  dnnl::convolution_forward::primitive_desc forward_pd;
  dnnl::convolution_backward_weights::primitive_desc backward_weights_pd;
  dnnl::convolution_forward forward;
  dnnl::convolution_backward_weights backward_weights;
  // Absent for a first layer without a jit kernel for its input's gradient (oneDNN has none for
  // 3 channels), which training never needs: the images are not parameters.
  std::optional<dnnl::convolution_backward_data::primitive_desc> backward_data_pd;
  std::optional<dnnl::convolution_backward_data> backward_data;
};

// (batch, channels in, channels out, height, width, whether the source is blocked)
using PlanKey = std::tuple<int64_t, int64_t, int64_t, int64_t, int64_t, bool>;

// oneDNN falls back to reference or GEMM-based kernels for layouts its jit kernels do not take
// (e.g. nChw16c without AVX-512); those are slower than at::conv2d's, so such shapes stay there.
bool JitKernel(const dnnl::primitive_desc_base& pd) {
  const std::string name = pd.impl_info_str();
  return name.rfind("jit", 0) == 0 || name.rfind("brg", 0) == 0;
}

// nullptr when oneDNN has no jit kernel for the shape on this CPU.
std::shared_ptr<const Plan> MakePlan(const PlanKey& key) {
  const auto [n, c, k, h, w, blocked_source] = key;
  const memory::dims strides = {kStride, kStride}, padding = {0, 0};
  const auto desc = [](const memory::dims& dims, Tag tag) {
    return memory::desc(dims, memory::data_type::f32, tag);
  };
  const memory::desc src = desc({n, c, h, w}, blocked_source ? Tag::nChw16c : Tag::any);
  const memory::desc weights = desc({k, c, 3, 3}, Tag::any), bias = desc({k}, Tag::x);
  const memory::desc dst = desc({n, k, OutputSide(h), OutputSide(w)}, Tag::nChw16c);
  const auto algorithm = dnnl::algorithm::convolution_direct;
  // primitive_attr copies share one handle, so each descriptor kind builds its own.
  const auto attributes = [](bool relu) {
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    if (relu) {
      dnnl::post_ops post_ops;
      post_ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f);
      attr.set_post_ops(post_ops);
    }
    return attr;
  };
  // The forward applies the ReLU as it writes its result, saving a pass over it.
  const dnnl::primitive_attr forward_attr = attributes(true), attr = attributes(false);
  try {
    dnnl::convolution_forward::primitive_desc forward_pd(
        {dnnl::prop_kind::forward_training, algorithm, src, weights, bias, dst, strides, padding,
         padding},
        forward_attr, Engine());
    dnnl::convolution_backward_weights::primitive_desc backward_weights_pd(
        {algorithm, forward_pd.src_desc(), weights, bias, dst, strides, padding, padding}, attr,
        Engine(), forward_pd);
    dnnl::convolution_backward_data::primitive_desc backward_data_pd(
        {algorithm, forward_pd.src_desc(), weights, dst, strides, padding, padding}, attr, Engine(),
        forward_pd);
    if (!JitKernel(forward_pd) || !JitKernel(backward_weights_pd)) return nullptr;
    Plan plan{forward_pd, backward_weights_pd, dnnl::convolution_forward(forward_pd),
              dnnl::convolution_backward_weights(backward_weights_pd)};
    if (JitKernel(backward_data_pd)) {
      plan.backward_data_pd = backward_data_pd;
      plan.backward_data = dnnl::convolution_backward_data(backward_data_pd);
    } else if (blocked_source) {
      return nullptr;
    }
    return std::make_shared<const Plan>(std::move(plan));
  } catch (const dnnl::error&) {
    return nullptr;
  }
}

std::shared_ptr<const Plan> PlanFor(const PlanKey& key) { return CachedPlan(key, MakePlan); }

// An activation is either a 4-d libtorch tensor (the stack's input) or a 5-d nChw16c one.
bool IsBlocked(const torch::Tensor& x) { return x.dim() == 5; }

memory::dims LogicalDims(const torch::Tensor& x) {
  const int64_t channels = IsBlocked(x) ? x.size(1) * kChannelBlock : x.size(1);
  return {x.size(0), channels, x.size(2), x.size(3)};
}

PlanKey KeyFor(const torch::Tensor& x, const torch::Tensor& weight) {
  const memory::dims dims = LogicalDims(x);
  return {dims[0], dims[1], weight.size(0), dims[2], dims[3], IsBlocked(x)};
}

memory ActivationView(const torch::Tensor& x) {
  return View(x, LogicalDims(x), IsBlocked(x) ? Tag::nChw16c : ActivationTag(x));
}

// The model's weights are OIHW, or OHWI when the training state made them channels-last.
Tag WeightTag(const torch::Tensor& weight) {
  return weight.is_contiguous() ? Tag::oihw : Tag::ohwi;
}

torch::Tensor DenseWeight(const torch::Tensor& weight) {
  return weight.is_contiguous() || weight.is_contiguous(at::MemoryFormat::ChannelsLast)
             ? weight
             : weight.contiguous();
}

// relu(conv2d(x, weight, bias, stride 2)) with the result in nChw16c.
class StridedConvReluFunction : public torch::autograd::Function<StridedConvReluFunction> {
 public:
  // x: the stack's 4-d input or the previous layer's 5-d output; returns N x K/16 x H' x W' x 16.
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x_in,
                               const torch::Tensor& weight_in, const torch::Tensor& bias_in) {
    const torch::Tensor x =
        IsBlocked(x_in) ? x_in.contiguous() : x_in.contiguous(FormatOf(ActivationTag(x_in)));
    const torch::Tensor weight = DenseWeight(weight_in), bias = bias_in.contiguous();
    const auto plan = PlanFor(KeyFor(x, weight));
    const auto& pd = plan->forward_pd;
    torch::Tensor y = at::empty({x.size(0), weight.size(0) / kChannelBlock, OutputSide(x.size(2)),
                                 OutputSide(x.size(3)), kChannelBlock},
                                x.options());
    dnnl::stream stream(Engine());
    memory src = Reordered(ActivationView(x), pd.src_desc(), kSourceSlot, stream);
    memory weights =
        Reordered(View(weight, WeightTag(weight)), pd.weights_desc(), kWeightsSlot, stream);
    Execute(plan->forward, pd,
            {{DNNL_ARG_SRC, src},
             {DNNL_ARG_WEIGHTS, weights},
             {DNNL_ARG_BIAS, View(bias, Tag::x)},
             {DNNL_ARG_DST, memory(pd.dst_desc(), Engine(), y.data_ptr())}},
            stream);
    ctx->save_for_backward({x, weight, y});
    return y;
  }

  static tensor_list backward(AutogradContext* ctx, tensor_list grads) {
    const auto saved = ctx->get_saved_variables();
    const torch::Tensor& x = saved[0];
    const torch::Tensor& weight = saved[1];
    const torch::Tensor& y = saved[2];
    // Through the ReLU: the gradient where the result is positive, else 0.
    torch::Tensor grad = at::empty_like(y);
    at::threshold_backward_out(grad, grads[0], y, 0);
    const auto plan = PlanFor(KeyFor(x, weight));
    dnnl::stream stream(Engine());
    const memory grad_view = View(grad, LogicalDims(grad), Tag::nChw16c);
    torch::Tensor grad_x, grad_weight, grad_bias;
    if (ctx->needs_input_grad(1) || ctx->needs_input_grad(2)) {
      const auto& pd = plan->backward_weights_pd;
      grad_weight = at::empty_like(weight);
      grad_bias = at::empty({weight.size(0)}, weight.options());
      memory src = Reordered(ActivationView(x), pd.src_desc(), kSourceSlot, stream);
      memory diff_dst = Reordered(grad_view, pd.diff_dst_desc(), kResultSlot, stream);
      memory diff_weights = InSlot(pd.diff_weights_desc(), kGradWeightsSlot);
      Execute(plan->backward_weights, pd,
              {{DNNL_ARG_SRC, src},
               {DNNL_ARG_DIFF_DST, diff_dst},
               {DNNL_ARG_DIFF_WEIGHTS, diff_weights},
               {DNNL_ARG_DIFF_BIAS, View(grad_bias, Tag::x)}},
              stream);
      CopyOut(diff_weights, grad_weight, WeightTag(grad_weight), stream);
    }
    if (ctx->needs_input_grad(0)) {
      const auto& pd = *plan->backward_data_pd;
      memory diff_dst = Reordered(grad_view, pd.diff_dst_desc(), kResultSlot, stream);
      memory weights =
          Reordered(View(weight, WeightTag(weight)), pd.weights_desc(), kWeightsSlot, stream);
      if (IsBlocked(x)) {
        // The previous layer's gradient stays blocked: written in place, no copy.
        grad_x = at::empty_like(x);
        Execute(*plan->backward_data, pd,
                {{DNNL_ARG_DIFF_DST, diff_dst},
                 {DNNL_ARG_WEIGHTS, weights},
                 {DNNL_ARG_DIFF_SRC, memory(pd.diff_src_desc(), Engine(), grad_x.data_ptr())}},
                stream);
      } else {
        const Tag tag = ActivationTag(x);
        grad_x = at::empty_like(x, FormatOf(tag));
        memory diff_src = InSlot(pd.diff_src_desc(), kSourceSlot);
        Execute(*plan->backward_data, pd,
                {{DNNL_ARG_DIFF_DST, diff_dst},
                 {DNNL_ARG_WEIGHTS, weights},
                 {DNNL_ARG_DIFF_SRC, diff_src}},
                stream);
        CopyOut(diff_src, grad_x, tag, stream);
      }
    }
    stream.wait();
    return {grad_x, grad_weight, grad_bias};
  }
};

bool Eligible(const torch::Tensor& x, const std::vector<ConvWithBias>& layers) {
  if (!x.is_cpu() || x.scalar_type() != at::kFloat || x.dim() != 4 || layers.empty()) return false;
  int64_t channels = x.size(1);
  for (const auto& layer : layers) {
    const torch::Tensor& weight = layer.weight;
    if (!weight.is_cpu() || weight.scalar_type() != at::kFloat || weight.dim() != 4 ||
        weight.size(1) != channels || weight.size(2) != 3 || weight.size(3) != 3 ||
        weight.size(0) % kChannelBlock != 0 || !layer.bias.defined() ||
        layer.bias.scalar_type() != at::kFloat || layer.bias.numel() != weight.size(0)) {
      return false;
    }
    channels = weight.size(0);
  }
  return true;
}

#endif  // SPHEREFACE_DNNL_KERNELS

}  // namespace

bool BlockedConvsAvailable() {
#ifdef SPHEREFACE_DNNL_KERNELS
  // A small probe: whether this CPU has jit kernels for nChw16c at all.
  return BlockedConvsEnabled() && PlanFor({1, 16, 16, 9, 9, true}) != nullptr;
#else
  return false;
#endif
}

bool UsesBlockedConvs(const torch::Tensor& x, const std::vector<ConvWithBias>& layers) {
#ifdef SPHEREFACE_DNNL_KERNELS
  if (!BlockedConvsEnabled() || !Eligible(x, layers)) return false;
  int64_t channels = x.size(1), h = x.size(2), w = x.size(3);
  for (size_t i = 0; i < layers.size(); ++i) {
    const int64_t k = layers[i].weight.size(0);
    if (h < 3 || w < 3) return false;
    const auto plan = PlanFor({x.size(0), channels, k, h, w, i > 0});
    if (plan == nullptr || (i == 0 && x.requires_grad() && !plan->backward_data)) return false;
    channels = k;
    h = OutputSide(h);
    w = OutputSide(w);
  }
  return true;
#else
  return false;
#endif
}

torch::Tensor StridedConvReluStack(const torch::Tensor& x,
                                   const std::vector<ConvWithBias>& layers) {
#ifdef SPHEREFACE_DNNL_KERNELS
  if (UsesBlockedConvs(x, layers)) {
    torch::Tensor y = x;
    for (const auto& layer : layers) {
      y = StridedConvReluFunction::apply(y, layer.weight, layer.bias);
    }
    // N x K/16 x H x W x 16 -> N x K x H x W, flattened: channel c sits at (c / 16, c % 16).
    return y.permute({0, 1, 4, 2, 3}).reshape({y.size(0), -1});
  }
#endif
  return DirectStack(x, layers);
}

}  // namespace sphereface
