// Synchronous hooks into single layers of the nets, for tests that compare them with float64
// references. Testing addon only. Small arrays: they run on the JS thread.
//   fusedSgdStep(param, grad, buffer, {lr, momentum, weightDecay, nesterov}): the optimiser's
//     check and update on plain Float32Arrays, as a training step runs them: param and buffer
//     are updated in place and true returned, or nothing is touched and false returned when the
//     update would leave an unusable value
//   preluForTests(x, [n, c, h, w], slope, grad, channelsLast): the nets' fused PReLU forward and
//     backward -> { y, gradX, gradSlope }, arrays in N x C x H x W order
//   conv3x3ForTests(x, [n, c, h, w], weight, k, grad, channelsLast): the residual units' 3x3 conv
//     forward and backward -> { y, gradX, gradWeight, winograd }
//   conv3x3InferenceForTests(x, [n, c, h, w], weight, k, channelsLast): the same conv as
//     model.embed runs it (a conv weight cache in use, no autograd), twice: made and kept weights
//     -> { y, again, winograd, transformsFirst, transformsAgain (weights transformed by then) }
//   residualStageForTests(x, [n, c, h, w], units [{ conv1, prelu1, conv2, prelu2, bias1?, bias2?
//   }],
//     channelsLast): SphereNet's residual units (C x C x 3 x 3 convs, C slopes, C biases if given)
//     as model.embed runs them -> { y, blocked }
//   stridedConvStackForTests(x, [n, c, h, w], layers [{ weight, bias }], grad, channelsLast,
//     wantGradX): sphere-cnn4's conv + ReLU layers forward and backward
//     -> { y, gradX (or null), gradWeights, gradBiases, blocked }
#include <napi.h>

#include <cstring>
#include <utility>
#include <vector>

#include "bindings/options.h"
#include "common/errors.h"
#include "common/typed_arrays.h"
#include "nets/conv_weight_cache.h"
#include "nets/prelu.h"
#include "nets/sphere_net.h"
#include "nets/strided_conv_stack.h"
#include "nets/winograd_conv.h"
#include "testing/testing_bindings.h"
#include "train/fused_sgd.h"

namespace sphereface {

namespace {

Napi::Value FusedSgdStepBinding(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Float32Array param = ExpectFloat32Array(info[0], "param");
  Napi::Float32Array grad = ExpectFloat32Array(info[1], "grad");
  Napi::Float32Array buffer = ExpectFloat32Array(info[2], "buffer");
  Napi::Object options = info[3].As<Napi::Object>();
  const double lr = RequireNumber(options, "lr"), momentum = RequireNumber(options, "momentum"),
               weight_decay = RequireNumber(options, "weightDecay");
  const bool nesterov = RequireBool(options, "nesterov");
  const int64_t n = static_cast<int64_t>(param.ElementLength());
  if (grad.ElementLength() != param.ElementLength() ||
      buffer.ElementLength() != param.ElementLength()) {
    throw Napi::RangeError::New(env, "param, grad and buffer lengths differ");
  }
  bool usable = false;
  RunOrThrow(env, [&] {
    torch::Tensor p = CopyToTensor(param, {n}), g = CopyToTensor(grad, {n}),
                  b = CopyToTensor(buffer, {n});
    usable = FusedSgdStepKeepsUsable(p, g, b, lr, momentum, weight_decay, nesterov);
    if (!usable) return;
    FusedSgdStep(p, g, b, lr, momentum, weight_decay, nesterov);
    std::memcpy(param.Data(), p.data_ptr<float>(), n * sizeof(float));
    std::memcpy(buffer.Data(), b.data_ptr<float>(), n * sizeof(float));
  });
  return Napi::Boolean::New(env, usable);
}

std::vector<int64_t> ShapeArgument(const Napi::Value& value) {
  Napi::Array dims = value.As<Napi::Array>();
  std::vector<int64_t> shape;
  for (uint32_t i = 0; i < dims.Length(); ++i) {
    shape.push_back(dims.Get(i).As<Napi::Number>().Int64Value());
  }
  return shape;
}

at::MemoryFormat FormatArgument(const Napi::Value& value) {
  return value.ToBoolean() ? at::MemoryFormat::ChannelsLast : at::MemoryFormat::Contiguous;
}

Napi::Value PreluForTestsBinding(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Float32Array x = ExpectFloat32Array(info[0], "x");
  const std::vector<int64_t> shape = ShapeArgument(info[1]);
  Napi::Float32Array slope = ExpectFloat32Array(info[2], "slope");
  Napi::Float32Array grad = ExpectFloat32Array(info[3], "grad");
  const auto format = FormatArgument(info[4]);
  Napi::Object result = Napi::Object::New(env);
  RunOrThrow(env, [&] {
    torch::Tensor input = CopyToTensor(x, shape).contiguous(format).requires_grad_(true);
    torch::Tensor slopes =
        CopyToTensor(slope, {static_cast<int64_t>(slope.ElementLength())}).requires_grad_(true);
    torch::Tensor y = Prelu(input, slopes);
    y.backward(CopyToTensor(grad, shape).contiguous(format));
    result.Set("y", ToFloat32Array(env, y));
    result.Set("gradX", ToFloat32Array(env, input.grad()));
    result.Set("gradSlope", ToFloat32Array(env, slopes.grad()));
  });
  return result;
}

// The conv hooks' first four arguments: x, [n, c, h, w], weight, k.
struct ConvArguments {
  Napi::Float32Array x;
  std::vector<int64_t> shape;
  Napi::Float32Array weight;
  int64_t out_channels;
};

ConvArguments ReadConvArguments(const Napi::CallbackInfo& info) {
  return {ExpectFloat32Array(info[0], "x"), ShapeArgument(info[1]),
          ExpectFloat32Array(info[2], "weight"), info[3].As<Napi::Number>().Int64Value()};
}

Napi::Value Conv3x3ForTestsBinding(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const ConvArguments a = ReadConvArguments(info);
  const std::vector<int64_t>& shape = a.shape;
  Napi::Float32Array grad = ExpectFloat32Array(info[4], "grad");
  const auto format = FormatArgument(info[5]);
  Napi::Object result = Napi::Object::New(env);
  RunOrThrow(env, [&] {
    torch::Tensor input = CopyToTensor(a.x, shape).contiguous(format).requires_grad_(true);
    torch::Tensor weights =
        CopyToTensor(a.weight, {a.out_channels, shape.at(1), 3, 3}).requires_grad_(true);
    torch::Tensor y = Conv3x3(input, weights);
    y.backward(CopyToTensor(grad, {shape.at(0), a.out_channels, shape.at(2), shape.at(3)})
                   .contiguous(format));
    result.Set("y", ToFloat32Array(env, y));
    result.Set("gradX", ToFloat32Array(env, input.grad()));
    result.Set("gradWeight", ToFloat32Array(env, weights.grad()));
    result.Set("winograd", UsesWinograd(input, weights));
  });
  return result;
}

Napi::Value Conv3x3InferenceForTestsBinding(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const ConvArguments a = ReadConvArguments(info);
  const std::vector<int64_t>& shape = a.shape;
  const auto format = FormatArgument(info[4]);
  Napi::Object result = Napi::Object::New(env);
  RunOrThrow(env, [&] {
    torch::Tensor weights = CopyToTensor(a.weight, {a.out_channels, shape.at(1), 3, 3});
    torch::Tensor input = CopyToTensor(a.x, shape).contiguous(format);
    ConvWeightCache cache;
    UseConvWeightCache use(cache);
    c10::InferenceMode inference;
    result.Set("y", ToFloat32Array(env, Conv3x3(input, weights)));
    result.Set("transformsFirst", static_cast<double>(cache.Transforms()));
    result.Set("again", ToFloat32Array(env, Conv3x3(input, weights)));
    result.Set("transformsAgain", static_cast<double>(cache.Transforms()));
    result.Set("winograd", UsesWinograd(input, weights, /*inference=*/true));
  });
  return result;
}

Napi::Value ResidualStageForTestsBinding(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Float32Array x = ExpectFloat32Array(info[0], "x");
  const std::vector<int64_t> shape = ShapeArgument(info[1]);
  Napi::Array unit_specs = info[2].As<Napi::Array>();
  const auto format = FormatArgument(info[3]);
  const int64_t channels = shape.at(1);
  std::vector<std::vector<std::pair<std::string, Napi::Float32Array>>> specs;
  for (uint32_t i = 0; i < unit_specs.Length(); ++i) {
    Napi::Object spec = unit_specs.Get(i).As<Napi::Object>();
    std::vector<std::pair<std::string, Napi::Float32Array>> arrays;
    for (const char* name : {"conv1", "prelu1", "conv2", "prelu2", "bias1", "bias2"}) {
      if (spec.Has(name)) arrays.emplace_back(name, ExpectFloat32Array(spec.Get(name), name));
    }
    specs.push_back(std::move(arrays));
  }
  Napi::Object result = Napi::Object::New(env);
  RunOrThrow(env, [&] {
    at::Generator generator = at::detail::createCPUGenerator(0);
    std::vector<std::shared_ptr<ResidualUnit>> units;
    for (const auto& arrays : specs) {
      const bool bias = arrays.size() == 6;
      auto unit = std::make_shared<ResidualUnit>(channels, bias, generator);
      const auto parameters = unit->named_parameters();
      torch::NoGradGuard no_grad;
      for (const auto& [name, values] : arrays) {
        // conv1 -> conv1.weight, bias1 -> conv1.bias, prelu1 -> prelu1.weight
        const std::string parameter =
            name.rfind("bias", 0) == 0 ? "conv" + name.substr(4) + ".bias" : name + ".weight";
        torch::Tensor target = parameters[parameter];
        target.copy_(CopyToTensor(values, target.sizes().vec()));
      }
      units.push_back(unit);
    }
    torch::Tensor input = CopyToTensor(x, shape).contiguous(format);
    ConvWeightCache cache;
    UseConvWeightCache use(cache);
    c10::InferenceMode inference;
    const bool blocked = !units.empty() && units.front()->TakesBlocked(input);
    result.Set("y", ToFloat32Array(env, RunResidualStage(units, input)));
    result.Set("blocked", blocked);
  });
  return result;
}

Napi::Value StridedConvStackForTestsBinding(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Float32Array x = ExpectFloat32Array(info[0], "x");
  const std::vector<int64_t> shape = ShapeArgument(info[1]);
  Napi::Array layer_specs = info[2].As<Napi::Array>();
  Napi::Float32Array grad = ExpectFloat32Array(info[3], "grad");
  const auto format = FormatArgument(info[4]);
  const bool want_grad_x = info[5].ToBoolean();
  std::vector<std::pair<Napi::Float32Array, Napi::Float32Array>> specs;
  for (uint32_t i = 0; i < layer_specs.Length(); ++i) {
    Napi::Object spec = layer_specs.Get(i).As<Napi::Object>();
    specs.emplace_back(ExpectFloat32Array(spec.Get("weight"), "weight"),
                       ExpectFloat32Array(spec.Get("bias"), "bias"));
  }
  Napi::Object result = Napi::Object::New(env);
  RunOrThrow(env, [&] {
    torch::Tensor input = CopyToTensor(x, shape).contiguous(format).requires_grad_(want_grad_x);
    std::vector<ConvWithBias> layers;
    int64_t channels = shape.at(1);
    for (auto& [weight, bias] : specs) {
      const auto out_channels = static_cast<int64_t>(bias.ElementLength());
      layers.push_back(
          {CopyToTensor(weight, {out_channels, channels, 3, 3}).contiguous(format).requires_grad_(),
           CopyToTensor(bias, {out_channels}).requires_grad_()});
      channels = out_channels;
    }
    const bool blocked = UsesBlockedConvs(input, layers);
    torch::Tensor y = StridedConvReluStack(input, layers);
    y.backward(CopyToTensor(grad, {y.size(0), y.size(1)}));
    Napi::Array grad_weights = Napi::Array::New(env), grad_biases = Napi::Array::New(env);
    for (uint32_t i = 0; i < layers.size(); ++i) {
      grad_weights.Set(i, ToFloat32Array(env, layers[i].weight.grad()));
      grad_biases.Set(i, ToFloat32Array(env, layers[i].bias.grad()));
    }
    result.Set("y", ToFloat32Array(env, y));
    result.Set("gradX", want_grad_x ? ToFloat32Array(env, input.grad()) : env.Null());
    result.Set("gradWeights", grad_weights);
    result.Set("gradBiases", grad_biases);
    result.Set("blocked", blocked);
  });
  return result;
}

}  // namespace

void InitLayerHooks(Napi::Env env, Napi::Object exports) {
  exports.Set("fusedSgdStep", Napi::Function::New(env, FusedSgdStepBinding, "fusedSgdStep"));
  exports.Set("preluForTests", Napi::Function::New(env, PreluForTestsBinding, "preluForTests"));
  exports.Set("conv3x3ForTests",
              Napi::Function::New(env, Conv3x3ForTestsBinding, "conv3x3ForTests"));
  exports.Set("conv3x3InferenceForTests", Napi::Function::New(env, Conv3x3InferenceForTestsBinding,
                                                              "conv3x3InferenceForTests"));
  exports.Set("residualStageForTests",
              Napi::Function::New(env, ResidualStageForTestsBinding, "residualStageForTests"));
  exports.Set("stridedConvStackForTests", Napi::Function::New(env, StridedConvStackForTestsBinding,
                                                              "stridedConvStackForTests"));
}

}  // namespace sphereface
