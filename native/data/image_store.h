// Where training images live for the batch gather, and the gather itself. Images are uint8
// height x width x 3 (HWC, RGB), all of one size, numbered 0..n-1. Two storages share one gather:
//   ShardFiles     an on-disk image store: image i is at byte (i % per_shard) * image_bytes of
//                  shard file i / per_shard, read with pread (not mmap: mapped pages a process has
//                  touched count in its resident memory, so an epoch over a store larger than RAM
//                  would look like a leak; pread leaves them to the page cache alone);
//   MemoryImages   one contiguous block (an in-memory ImageSet), the degenerate single shard.
//
// The gather copies each requested image through a crop window in one pass:
//   out(y, x) = stored(window.top + dy + y, window.left + dx + x)   when that pixel lies inside
//               both the window and the stored image, else 0 (black),
// for y < out_height, x < out_width, where (dy, dx) is the image's own offset (a random crop's
// offset in padded coordinates minus the padding) or (0, 0). A centre crop is a window smaller
// than the image; RandomCrop(padding) is an offset range wider than the window, whose outside
// is the padding.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace sphereface {

class ImageStorage {
 public:
  ImageStorage(int64_t n, int64_t height, int64_t width);
  virtual ~ImageStorage() = default;
  ImageStorage(const ImageStorage&) = delete;
  ImageStorage& operator=(const ImageStorage&) = delete;

  int64_t n() const { return n_; }
  int64_t height() const { return height_; }
  int64_t width() const { return width_; }
  int64_t ImageBytes() const { return height_ * width_ * 3; }

  // Image `index`'s rows [row, row + rows) in memory, or null when the storage must copy them.
  virtual const uint8_t* Rows(int64_t index, int64_t row) const = 0;
  // Copies image `index`'s rows [row, row + rows) into `dst` (rows * width * 3 bytes).
  virtual void ReadRows(int64_t index, int64_t row, int64_t rows, uint8_t* dst) = 0;

 private:
  int64_t n_, height_, width_;
};

// Shard files opened on first use and kept open until destruction. Thread-safe.
class ShardFiles : public ImageStorage {
 public:
  // `files[k]` holds images k * per_shard .. min(n, (k + 1) * per_shard) - 1; each file's size
  // is checked when it is first opened.
  ShardFiles(std::vector<std::string> files, int64_t per_shard, int64_t n, int64_t height,
             int64_t width);
  ~ShardFiles() override;

  const uint8_t* Rows(int64_t, int64_t) const override { return nullptr; }
  void ReadRows(int64_t index, int64_t row, int64_t rows, uint8_t* dst) override;

 private:
  int Descriptor(int64_t shard);

  std::vector<std::string> files_;
  int64_t per_shard_;
  std::mutex open_mutex_;
  std::vector<int> fds_;  // -1 until opened
};

// A block of n images owned by someone else (kept alive by the caller for this object's life).
class MemoryImages : public ImageStorage {
 public:
  MemoryImages(const uint8_t* data, int64_t n, int64_t height, int64_t width);

  const uint8_t* Rows(int64_t index, int64_t row) const override;
  void ReadRows(int64_t index, int64_t row, int64_t rows, uint8_t* dst) override;

 private:
  const uint8_t* data_;
};

struct CropWindow {
  int64_t top = 0, left = 0, height = 0, width = 0;  // in stored-image pixels; may overhang
};

struct GatherRequest {
  std::vector<int32_t> indices;  // image per output slot
  std::vector<int32_t> offsets;  // (dy, dx) per slot, or empty for none
  CropWindow window;
  int64_t out_height = 0, out_width = 0;
};

// Fills `out` (indices.size() * out_height * out_width * 3 bytes). Throws std::runtime_error
// naming the problem (an index out of range, a short read).
void Gather(ImageStorage& storage, const GatherRequest& request, uint8_t* out);

}  // namespace sphereface
