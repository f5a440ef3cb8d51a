// Moving data between JS typed arrays and tensors. Inputs are copied into tensors on the main
// thread (so no JS memory is touched off it); outputs are copied into new JS arrays in OnOK.
#pragma once

#include <napi.h>
#include <torch/torch.h>

#include <string>

namespace sphereface {

// Reads a Float32Array / Int32Array / Uint8Array argument, throwing a JS TypeError that names
// `what` when the value has another type.
Napi::Float32Array ExpectFloat32Array(const Napi::Value& value, const std::string& what);
Napi::Int32Array ExpectInt32Array(const Napi::Value& value, const std::string& what);
Napi::Uint8Array ExpectUint8Array(const Napi::Value& value, const std::string& what);

// Copies a typed array into a new CPU tensor of the given shape (numel must match).
torch::Tensor CopyToTensor(const Napi::Float32Array& array, at::IntArrayRef shape);
torch::Tensor CopyToTensor(const Napi::Int32Array& array, at::IntArrayRef shape);
torch::Tensor CopyToTensor(const Napi::Uint8Array& array, at::IntArrayRef shape);

// Copies a tensor (any device, any float dtype) into a new Float32Array.
Napi::Float32Array ToFloat32Array(Napi::Env env, const torch::Tensor& tensor);

// Reads a number / integer / boolean property of an options object, or `fallback` when it is
// absent.
double GetNumber(const Napi::Object& options, const char* key, double fallback);
bool GetBool(const Napi::Object& options, const char* key, bool fallback);
std::string GetString(const Napi::Object& options, const char* key, const std::string& fallback);

}  // namespace sphereface
