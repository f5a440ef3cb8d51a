// CUDA glue of the fused margin-softmax loss: the GEMMs through libtorch (cuBLAS), the per-row
// passes through the raw kernels of margin_softmax_cuda.cu. Compiled only when the addon links
// CUDA (SPHEREFACE_WITH_CUDA); the CPU build sees an empty file.
#ifdef SPHEREFACE_WITH_CUDA

#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>

#include "ops/margin_softmax_cuda_kernels.h"
#include "ops/margin_softmax_impl.h"

namespace sphereface {

namespace {

void CheckLaunch(cudaError_t status, const char* what) {
  TORCH_CHECK(status == cudaSuccess, "margin-softmax loss: CUDA ", what,
              " failed: ", cudaGetErrorString(status));
}

}  // namespace

MarginForwardState MarginSoftmaxForwardCuda(const torch::Tensor& features,
                                            const torch::Tensor& weight,
                                            const torch::Tensor& labels, const torch::Tensor& bias,
                                            const MarginHead& head) {
  const c10::cuda::CUDAGuard guard(features.device());
  const int64_t batch = features.size(0), classes = weight.size(0);
  cudaStream_t stream = c10::cuda::getCurrentCUDAStream();
  MarginForwardState state;
  // Norms accumulated in double, as on CPU: a float row's squares overflow before its norm does.
  const int64_t along_rows = 1;
  torch::Tensor feature_norms =
      at::linalg_vector_norm(features, 2, along_rows, false, torch::kDouble).contiguous();
  // Softmax normalises nothing: its norms are 1 (margin::InverseNorm).
  state.weight_norms = head.kind == MarginKind::kSoftmax
                           ? torch::ones({weight.size(0)}, weight.options())
                           : at::linalg_vector_norm(weight, 2, along_rows, false, torch::kDouble)
                                 .to(weight.scalar_type())
                                 .contiguous();
  state.exps = at::mm(features, weight.t());
  const RowOutputs rows(features);
  AT_DISPATCH_FLOATING_TYPES(features.scalar_type(), "margin_softmax_forward_cuda", [&] {
    CheckLaunch(
        LaunchMarginForward<scalar_t>(
            state.exps.data_ptr<scalar_t>(), feature_norms.data_ptr<double>(),
            state.weight_norms.data_ptr<scalar_t>(),
            bias.defined() ? bias.data_ptr<scalar_t>() : nullptr, labels.data_ptr<int64_t>(), batch,
            classes, ToHeadParams(head), rows.stats.data_ptr<double>(),
            rows.loss.data_ptr<double>(), rows.correct.data_ptr<double>(), stream),
        "forward kernel");
  });
  rows.Finish(state, features.scalar_type());
  return state;
}

MarginGradients MarginSoftmaxBackwardCuda(const torch::Tensor& grad_loss,
                                          const torch::Tensor& features,
                                          const torch::Tensor& weight, const torch::Tensor& labels,
                                          const MarginForwardState& state, const MarginHead& head) {
  const c10::cuda::CUDAGuard guard(features.device());
  const int64_t batch = features.size(0), classes = weight.size(0), dim = features.size(1);
  cudaStream_t stream = c10::cuda::getCurrentCUDAStream();
  const bool sphere = head.kind == MarginKind::kSphere;
  torch::Tensor grad = grad_loss.to(features.options()).contiguous();
  torch::Tensor k = torch::empty_like(state.exps);
  torch::Tensor d_factor = torch::zeros({batch}, state.row_stats.options());
  MarginGradients grads;
  AT_DISPATCH_FLOATING_TYPES(features.scalar_type(), "margin_softmax_backward_cuda", [&] {
    CheckLaunch(LaunchMarginBackward<scalar_t>(
                    state.exps.data_ptr<scalar_t>(), state.weight_norms.data_ptr<scalar_t>(),
                    labels.data_ptr<int64_t>(), state.row_stats.data_ptr<double>(),
                    grad.data_ptr<scalar_t>(), batch, classes, sphere, k.data_ptr<scalar_t>(),
                    d_factor.data_ptr<double>(), stream),
                "backward kernel");
    grads.features = at::mm(k, weight);
    grads.weight = at::mm(k.t(), features);
    if (head.kind == MarginKind::kSoftmax) {
      grads.bias = k.sum(0);
      return;  // nothing was normalised: no chain through the norms
    }
    k = torch::Tensor();
    torch::Tensor feature_norms = state.row_stats.select(1, margin::kRowNorm).contiguous();
    torch::Tensor weight_norms = state.weight_norms.to(torch::kDouble).contiguous();
    CheckLaunch(LaunchAddNormGradients<scalar_t>(
                    grads.features.data_ptr<scalar_t>(), features.data_ptr<scalar_t>(),
                    feature_norms.data_ptr<double>(),
                    sphere ? d_factor.data_ptr<double>() : nullptr, batch, dim, stream),
                "feature norm kernel");
    CheckLaunch(LaunchAddNormGradients<scalar_t>(
                    grads.weight.data_ptr<scalar_t>(), weight.data_ptr<scalar_t>(),
                    weight_norms.data_ptr<double>(), nullptr, classes, dim, stream),
                "weight norm kernel");
  });
  return grads;
}

}  // namespace sphereface

#endif  // SPHEREFACE_WITH_CUDA
