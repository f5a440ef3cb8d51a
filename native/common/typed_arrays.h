// Moving data between JS typed arrays and tensors. Inputs are copied into tensors on the JS thread
// (so no JS memory is touched off it), whether their buffer is an ArrayBuffer or a
// SharedArrayBuffer; outputs are copied into new JS arrays when a job settles. Where a copy costs
// more than the work (the loss's 20 MB weight), an input is read in place by a job that keeps it
// alive (ViewOfArray) and an output is handed over without a copy (ExternalFloat32Array).
#pragma once

#include <napi.h>
#include <torch/torch.h>

#include <string>

namespace sphereface {

// Reads a Float32Array / Float64Array / Int32Array / Uint8Array argument, throwing a JS TypeError
// that names `what` when the value has another type.
Napi::Float32Array ExpectFloat32Array(const Napi::Value& value, const std::string& what);
Napi::Float64Array ExpectFloat64Array(const Napi::Value& value, const std::string& what);
Napi::Int32Array ExpectInt32Array(const Napi::Value& value, const std::string& what);
Napi::Uint8Array ExpectUint8Array(const Napi::Value& value, const std::string& what);

// Copies a typed array into a new CPU tensor of the given shape (numel must match).
torch::Tensor CopyToTensor(const Napi::Float32Array& array, at::IntArrayRef shape);
torch::Tensor CopyToTensor(const Napi::Float64Array& array, at::IntArrayRef shape);
torch::Tensor CopyToTensor(const Napi::Int32Array& array, at::IntArrayRef shape);
torch::Tensor CopyToTensor(const Napi::Uint8Array& array, at::IntArrayRef shape);

// A tensor over the array's own memory, no copy: for a job that keeps the array alive
// (TorchWorker's keep_alive) and only reads it, while the caller leaves it unchanged.
torch::Tensor ViewOfArray(const Napi::TypedArray& array, at::IntArrayRef shape,
                          torch::ScalarType dtype);

// A Float32Array / Float64Array over the tensor's memory, which it keeps until it is collected
// (a tensor of another device, dtype or layout is converted first).
Napi::Float32Array ExternalFloat32Array(Napi::Env env, const torch::Tensor& tensor);
Napi::Float64Array ExternalFloat64Array(Napi::Env env, const torch::Tensor& tensor);

// Copies a tensor (any device, any float dtype) into a new Float32Array / Float64Array.
Napi::Float32Array ToFloat32Array(Napi::Env env, const torch::Tensor& tensor);
Napi::Float64Array ToFloat64Array(Napi::Env env, const torch::Tensor& tensor);

}  // namespace sphereface
