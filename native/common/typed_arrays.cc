#include "common/typed_arrays.h"

#include <cstring>

namespace sphereface {

namespace {

template <typename Array>
Array ExpectTyped(const Napi::Value& value, napi_typedarray_type type, const std::string& what,
                  const char* type_name) {
  if (!value.IsTypedArray() || value.As<Napi::TypedArray>().TypedArrayType() != type) {
    throw Napi::TypeError::New(value.Env(), "Expected " + std::string(type_name) + " for " + what);
  }
  return value.As<Array>();
}

template <typename Array>
torch::Tensor CopyTyped(const Array& array, at::IntArrayRef shape, torch::ScalarType dtype) {
  torch::Tensor tensor = torch::empty(shape, torch::TensorOptions().dtype(dtype));
  TORCH_CHECK(static_cast<size_t>(tensor.numel()) == array.ElementLength(), "expected ",
              tensor.numel(), " elements but the array has ", array.ElementLength());
  std::memcpy(tensor.data_ptr(), array.Data(), array.ByteLength());
  return tensor;
}

template <typename Array, typename T>
Array CopyOut(Napi::Env env, const torch::Tensor& tensor, torch::ScalarType dtype) {
  torch::Tensor cpu = tensor.detach().to(torch::kCPU, dtype).contiguous();
  auto array = Array::New(env, cpu.numel());
  std::memcpy(array.Data(), cpu.data_ptr<T>(), cpu.numel() * sizeof(T));
  return array;
}

}  // namespace

Napi::Float32Array ExpectFloat32Array(const Napi::Value& value, const std::string& what) {
  return ExpectTyped<Napi::Float32Array>(value, napi_float32_array, what, "Float32Array");
}
Napi::Float64Array ExpectFloat64Array(const Napi::Value& value, const std::string& what) {
  return ExpectTyped<Napi::Float64Array>(value, napi_float64_array, what, "Float64Array");
}
Napi::Int32Array ExpectInt32Array(const Napi::Value& value, const std::string& what) {
  return ExpectTyped<Napi::Int32Array>(value, napi_int32_array, what, "Int32Array");
}
Napi::Uint8Array ExpectUint8Array(const Napi::Value& value, const std::string& what) {
  return ExpectTyped<Napi::Uint8Array>(value, napi_uint8_array, what, "Uint8Array");
}

torch::Tensor CopyToTensor(const Napi::Float32Array& array, at::IntArrayRef shape) {
  return CopyTyped(array, shape, torch::kFloat32);
}
torch::Tensor CopyToTensor(const Napi::Float64Array& array, at::IntArrayRef shape) {
  return CopyTyped(array, shape, torch::kFloat64);
}
torch::Tensor CopyToTensor(const Napi::Int32Array& array, at::IntArrayRef shape) {
  return CopyTyped(array, shape, torch::kInt32);
}
torch::Tensor CopyToTensor(const Napi::Uint8Array& array, at::IntArrayRef shape) {
  return CopyTyped(array, shape, torch::kUInt8);
}

Napi::Float32Array ToFloat32Array(Napi::Env env, const torch::Tensor& tensor) {
  return CopyOut<Napi::Float32Array, float>(env, tensor, torch::kFloat32);
}
Napi::Float64Array ToFloat64Array(Napi::Env env, const torch::Tensor& tensor) {
  return CopyOut<Napi::Float64Array, double>(env, tensor, torch::kFloat64);
}

}  // namespace sphereface
