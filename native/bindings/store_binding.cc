// ImageReader: the batch gather (native/data/image_store.h) over an image store's shard files or
// an in-memory block of images, one call per batch, off the JS thread.
//   new ImageReader({ n, height, width, files, imagesPerShard })  [sync] shard files, opened on
//     first use and kept open until close()
//   new ImageReader({ n, height, width, images })                 [sync] a Uint8Array of n images,
//     referenced (so kept alive) until close()
//   gather(indices, offsets | null, geometry, out) -> Promise<void>  [async] fills `out` with
//     indices.length images; geometry { top, left, windowHeight, windowWidth, height, width }
//     (the crop window in stored pixels and the output size); offsets: (dy, dx) per image
//   inFlight() -> number; close()                                  [sync]; close throws while
//     gathers are in flight
//   liveImageReaderCount() (module)                                [sync] readers not yet closed
// Arguments are read into a plain request on the JS thread; the reader's own job queue (one
// thread, gathers in call order) touches no JS value and writes only into `out`, which stays
// referenced until the Promise settles.
#include <napi.h>

#include <atomic>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "bindings/bindings.h"
#include "bindings/options.h"
#include "common/job_queue.h"
#include "common/typed_arrays.h"
#include "data/image_store.h"

namespace sphereface {

namespace {

std::atomic<int> live_readers{0};

class ImageReader : public Napi::ObjectWrap<ImageReader> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "ImageReader",
                       {InstanceMethod<&ImageReader::GatherBatch>("gather"),
                        InstanceMethod<&ImageReader::InFlight>("inFlight"),
                        InstanceMethod<&ImageReader::Close>("close")});
  }

  explicit ImageReader(const Napi::CallbackInfo& info)
      : Napi::ObjectWrap<ImageReader>(info), queue_(std::make_unique<JobQueue>(info.Env())) {
    Napi::Env env = info.Env();
    if (!info[0].IsObject()) throw Napi::TypeError::New(env, "ImageReader: expected a spec");
    Napi::Object spec = info[0].As<Napi::Object>();
    const int64_t n = RequireInteger(spec, "n");
    const int64_t height = RequireInteger(spec, "height");
    const int64_t width = RequireInteger(spec, "width");
    if (n < 0 || height <= 0 || width <= 0)
      throw Napi::RangeError::New(env, "ImageReader: n, height and width must be positive");
    try {
      if (spec.Has("images")) {
        Napi::Uint8Array images = ExpectUint8Array(spec.Get("images"), "images");
        if (static_cast<int64_t>(images.ElementLength()) != n * height * width * 3)
          throw Napi::RangeError::New(env, "ImageReader: images does not hold n x h x w x 3 bytes");
        images_ = Napi::Persistent(images);
        storage_ = std::make_shared<MemoryImages>(images.Data(), n, height, width);
      } else {
        Napi::Value list = spec.Get("files");
        if (!list.IsArray()) throw Napi::TypeError::New(env, "ImageReader: expected files");
        Napi::Array array = list.As<Napi::Array>();
        std::vector<std::string> files;
        for (uint32_t k = 0; k < array.Length(); ++k)
          files.push_back(array.Get(k).As<Napi::String>().Utf8Value());
        storage_ = std::make_shared<ShardFiles>(
            std::move(files), RequireInteger(spec, "imagesPerShard"), n, height, width);
      }
    } catch (const std::runtime_error& e) {
      throw Napi::Error::New(env, std::string("ImageReader: ") + e.what());
    }
    ++live_readers;
  }

  // The finalizer is the safety net for a reader nobody closed; no gather can be in flight here
  // (each holds this object until it settles).
  ~ImageReader() override { Release(); }

 private:
  void Release() {
    if (!storage_) return;
    queue_.reset();  // joins the idle thread
    storage_.reset();
    if (!images_.IsEmpty()) images_.Reset();
    --live_readers;
  }

  Napi::Value GatherBatch(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!storage_) throw Napi::Error::New(env, "ImageReader: the reader is closed");
    Napi::Int32Array indices = ExpectInt32Array(info[0], "indices");
    GatherRequest request;
    request.indices.assign(indices.Data(), indices.Data() + indices.ElementLength());
    if (!info[1].IsNull() && !info[1].IsUndefined()) {
      Napi::Int32Array offsets = ExpectInt32Array(info[1], "offsets");
      request.offsets.assign(offsets.Data(), offsets.Data() + offsets.ElementLength());
    }
    if (!info[2].IsObject()) throw Napi::TypeError::New(env, "ImageReader: expected a geometry");
    Napi::Object geometry = info[2].As<Napi::Object>();
    request.window.top = RequireInteger(geometry, "top");
    request.window.left = RequireInteger(geometry, "left");
    request.window.height = RequireInteger(geometry, "windowHeight");
    request.window.width = RequireInteger(geometry, "windowWidth");
    request.out_height = RequireInteger(geometry, "height");
    request.out_width = RequireInteger(geometry, "width");
    Napi::Uint8Array out = ExpectUint8Array(info[3], "out");
    const int64_t needed =
        static_cast<int64_t>(request.indices.size()) * request.out_height * request.out_width * 3;
    if (request.out_height <= 0 || request.out_width <= 0 ||
        static_cast<int64_t>(out.ElementLength()) < needed) {
      throw Napi::RangeError::New(env, "ImageReader: out holds " +
                                           std::to_string(out.ElementLength()) +
                                           " bytes, the batch needs " + std::to_string(needed));
    }
    std::vector<Napi::Value> keep_alive = {info.This(), out};
    if (!images_.IsEmpty()) keep_alive.push_back(images_.Value());
    auto storage = storage_;
    auto job = std::make_shared<GatherRequest>(std::move(request));
    uint8_t* target = out.Data();
    return queue_->Submit(
        env, [storage, job, target] { Gather(*storage, *job, target); },
        [](Napi::Env env) -> Napi::Value { return env.Undefined(); }, keep_alive);
  }

  Napi::Value InFlight(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), queue_ ? queue_->InFlight() : 0);
  }

  void Close(const Napi::CallbackInfo& info) {
    const int running = queue_ ? queue_->InFlight() : 0;
    if (running > 0) {
      throw Napi::Error::New(info.Env(), "ImageReader: " + std::to_string(running) +
                                             " gathers are in flight; await them before close()");
    }
    Release();
  }

  std::unique_ptr<JobQueue> queue_;
  std::shared_ptr<ImageStorage> storage_;
  Napi::Reference<Napi::Uint8Array> images_;
};

Napi::Value LiveImageReaderCount(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), live_readers.load());
}

}  // namespace

void InitStore(Napi::Env env, Napi::Object exports) {
  exports.Set("ImageReader", ImageReader::Define(env));
  exports.Set("liveImageReaderCount", Napi::Function::New(env, LiveImageReaderCount));
}

}  // namespace sphereface
