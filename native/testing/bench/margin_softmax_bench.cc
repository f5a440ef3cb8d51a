// [async] benchMarginSoftmax({batch, dim, classes, threads, repeats, seedRepeats,
//   head: {kind, m, scale, lambda, easyMargin}, device}): testing addon only, for
//   bench/margin-softmax.bench.ts and (device 'cuda') bench/gpu.ts.
//   Times forward + backward side by side, interleaved in each repeat: the three GEMMs the op
//   cannot avoid, the fused op, the best composition of libtorch autograd ops, and the seed's
//   loss written the seed's way. Also measures each one's peak extra CPU memory with a counting
//   allocator (installed for the run only). Draws its inputs from a private generator and sets
//   the thread count through thread_setup. Resolves to {gemms, fused, composed, seed: number[]
//   (ms), peakBytes: {gemms, fused, composed, seed} (for the losses: beyond the inputs and the
//   two gradients they return), outputBytes, bufferBytes, threads, fusedLoss, composedLoss}.
//   On CUDA each timing ends with a device synchronisation, the seed's loss (a per-row host loop)
//   is left out, and peakBytes are 0 (the counting allocator sees host memory only).
#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "bindings/options.h"
#include "common/thread_setup.h"
#include "common/torch_worker.h"
#include "ops/margin_softmax.h"
#include "testing/bench/counting_allocator.h"
#include "testing/bench/reference_losses.h"
#include "testing/testing_bindings.h"

namespace sphereface {

namespace {

enum Variant { kGemms = 0, kFused, kComposed, kSeed, kVariantCount };
const char* const kVariantNames[kVariantCount] = {"gemms", "fused", "composed", "seed"};

struct BenchBaton {
  int64_t batch = 0, dim = 0, classes = 0;
  int threads = 0, repeats = 0, seed_repeats = 0;
  MarginHead head;
  bool cuda = false;
  std::vector<double> times[kVariantCount];
  int64_t peak_bytes[kVariantCount] = {0, 0, 0, 0};
  double fused_loss = 0, composed_loss = 0;  // the same maths: should agree to float rounding
};

double Milliseconds(const std::function<void()>& body, bool cuda) {
  const auto start = std::chrono::steady_clock::now();
  body();
  if (cuda) torch::cuda::synchronize();  // kernels run asynchronously: wait for them
  const auto stop = std::chrono::steady_clock::now();
  return std::chrono::duration<double, std::milli>(stop - start).count();
}

void RunBench(BenchBaton& baton) {
  // Through thread_setup, so this queue's later jobs (PrepareWorkerThread) keep the count.
  SetIntraOpThreads(baton.threads);
  const CountingAllocatorScope counting;
  // A private generator: the process's global RNG is left as it was.
  at::Generator generator = at::detail::createCPUGenerator(1);
  const int64_t b = baton.batch, d = baton.dim, c = baton.classes;
  const torch::Device device = baton.cuda ? torch::Device(torch::kCUDA, 0) : torch::kCPU;
  torch::Tensor features = torch::randn({b, d}, generator).to(device).requires_grad_(true);
  torch::Tensor weight = (torch::randn({c, d}, generator) * 0.05).to(device).requires_grad_(true);
  torch::Tensor labels = torch::randint(c, {b}, generator, torch::kLong).to(device);
  // A stand-in for dL/dG: the gradient GEMMs' left operand.
  torch::Tensor k = (torch::randn({b, c}, generator) * 1e-3).to(device);
  torch::Tensor x = features.detach(), w = weight.detach();

  auto clear_grads = [&] {
    features.mutable_grad() = torch::Tensor();
    weight.mutable_grad() = torch::Tensor();
  };
  // The three losses' forwards (each followed by backward below) and the GEMMs alone.
  std::function<torch::Tensor()> losses[kVariantCount] = {
      nullptr,
      [&] { return std::get<0>(MarginSoftmaxLoss(features, weight, labels, baton.head)); },
      [&] { return ComposedMarginLoss(features, weight, labels, baton.head); },
      [&] { return SeedMarginLoss(features, weight, labels, baton.head.m); },
  };
  auto run_gemms = [&] {
    torch::Tensor g = torch::mm(x, w.t());
    torch::Tensor q = torch::mm(k, w);
    torch::Tensor p = torch::mm(k.t(), x);
  };
  std::function<void()> bodies[kVariantCount];
  bodies[kGemms] = run_gemms;
  for (int v = kFused; v < kVariantCount; ++v) {
    bodies[v] = [&, v] {
      losses[v]().backward();
      clear_grads();
    };
  }

  // Warm-up, then each variant's peak extra memory over what was live before it ran: for the
  // losses, the larger of the forward's peak and the backward's peak less the two gradients
  // (outputs every variant must produce).
  const int64_t output_bytes = (b + c) * d * static_cast<int64_t>(sizeof(float));
  const bool seed = !baton.cuda;
  for (int v = 0; v < kVariantCount; ++v) {
    if (v == kSeed && !seed) continue;
    bodies[v]();
    if (baton.cuda) continue;  // host memory only: nothing to say about the device's
    const int64_t before = LiveBytes();
    ResetPeakBytes();
    if (v == kGemms) {
      run_gemms();
      baton.peak_bytes[v] = PeakBytes() - before;
      continue;
    }
    torch::Tensor loss = losses[v]();
    const int64_t forward_peak = PeakBytes() - before;
    loss.backward();
    loss = torch::Tensor();
    const int64_t backward_peak = PeakBytes() - before - output_bytes;
    clear_grads();
    baton.peak_bytes[v] = std::max(forward_peak, backward_peak);
  }
  {
    torch::NoGradGuard no_grad;
    baton.fused_loss = losses[kFused]().item<double>();
    baton.composed_loss = losses[kComposed]().item<double>();
  }
  // Interleaved, so that the machine's drift hits every variant alike.
  for (int r = 0; r < baton.repeats; ++r) {
    for (int v = 0; v < kVariantCount; ++v) {
      if (v == kSeed && (!seed || r >= baton.seed_repeats)) continue;
      baton.times[v].push_back(Milliseconds(bodies[v], baton.cuda));
    }
  }
}

Napi::Value BenchMarginSoftmaxBinding(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) {
    throw Napi::TypeError::New(env, "Expected an options object for benchMarginSoftmax");
  }
  Napi::Object options = info[0].As<Napi::Object>();
  auto baton = std::make_shared<BenchBaton>();
  baton->batch = static_cast<int64_t>(RequireNumber(options, "batch"));
  baton->dim = static_cast<int64_t>(RequireNumber(options, "dim"));
  baton->classes = static_cast<int64_t>(RequireNumber(options, "classes"));
  baton->threads = static_cast<int>(RequireNumber(options, "threads"));
  baton->repeats = static_cast<int>(RequireNumber(options, "repeats"));
  baton->seed_repeats = static_cast<int>(RequireNumber(options, "seedRepeats"));
  baton->head = RequireMarginHead(RequireObject(options, "head"));
  baton->cuda = RequireString(options, "device") == "cuda";
  if (baton->head.kind == MarginKind::kSoftmax || baton->head.easy_margin) {
    throw Napi::RangeError::New(env,
                                "benchMarginSoftmax: the composed reference covers sphere, "
                                "cos and arc without the easy margin");
  }
  if (baton->batch < 1 || baton->dim < 1 || baton->classes < 2 || baton->threads < 1 ||
      baton->repeats < 1) {
    throw Napi::RangeError::New(env, "benchMarginSoftmax: sizes, threads and repeats must be >= 1");
  }
  return TorchWorker::Run(
      env,
      [baton] {
        TORCH_CHECK(!baton->cuda || torch::cuda::is_available(),
                    "benchMarginSoftmax: CUDA is not available");
        RunBench(*baton);
      },
      [baton](Napi::Env env) -> Napi::Value {
        auto result = Napi::Object::New(env);
        auto peaks = Napi::Object::New(env);
        for (int v = 0; v < kVariantCount; ++v) {
          auto times = Napi::Array::New(env, baton->times[v].size());
          for (size_t i = 0; i < baton->times[v].size(); ++i) times.Set(i, baton->times[v][i]);
          result.Set(kVariantNames[v], times);
          peaks.Set(kVariantNames[v], static_cast<double>(baton->peak_bytes[v]));
        }
        result.Set("peakBytes", peaks);
        const double element = sizeof(float);
        result.Set("bufferBytes", static_cast<double>(baton->batch * baton->classes) * element);
        result.Set("outputBytes",
                   static_cast<double>((baton->batch + baton->classes) * baton->dim) * element);
        result.Set("threads", baton->threads);
        result.Set("fusedLoss", baton->fused_loss);
        result.Set("composedLoss", baton->composed_loss);
        return result;
      });
}

}  // namespace

void InitBench(Napi::Env env, Napi::Object exports) {
  exports.Set("benchMarginSoftmax",
              Napi::Function::New(env, BenchMarginSoftmaxBinding, "benchMarginSoftmax"));
}

}  // namespace sphereface
