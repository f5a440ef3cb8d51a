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

template <typename Array, typename T>
Array HandOver(Napi::Env env, const torch::Tensor& tensor, torch::ScalarType dtype) {
  torch::Tensor cpu = tensor.detach().to(torch::kCPU, dtype).contiguous();
  const size_t length = static_cast<size_t>(cpu.numel());
  if (length == 0) return Array::New(env, 0);
  auto* owner = new torch::Tensor(std::move(cpu));
  Napi::ArrayBuffer buffer = Napi::ArrayBuffer::New(
      env, owner->data_ptr(), length * sizeof(T),
      [](Napi::Env, void*, torch::Tensor* tensor) { delete tensor; }, owner);
  return Array::New(env, length, buffer, 0);
}

}  // namespace

torch::Tensor ViewOfArray(const Napi::TypedArray& array, at::IntArrayRef shape,
                          torch::ScalarType dtype) {
  // napi_get_typedarray_info, unlike the ArrayBuffer's own accessors, also takes arrays on a
  // SharedArrayBuffer; its pointer is already offset to the array's first element.
  void* data = nullptr;
  napi_status status =
      napi_get_typedarray_info(array.Env(), array, nullptr, nullptr, &data, nullptr, nullptr);
  NAPI_THROW_IF_FAILED(array.Env(), status, torch::Tensor());
  torch::Tensor view = torch::from_blob(data, shape, torch::TensorOptions().dtype(dtype));
  TORCH_CHECK(static_cast<size_t>(view.nbytes()) == array.ByteLength(), "expected ", view.nbytes(),
              " bytes but the array has ", array.ByteLength());
  return view;
}

Napi::Float32Array ExternalFloat32Array(Napi::Env env, const torch::Tensor& tensor) {
  return HandOver<Napi::Float32Array, float>(env, tensor, torch::kFloat32);
}
Napi::Float64Array ExternalFloat64Array(Napi::Env env, const torch::Tensor& tensor) {
  return HandOver<Napi::Float64Array, double>(env, tensor, torch::kFloat64);
}

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
