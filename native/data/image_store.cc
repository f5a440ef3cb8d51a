#include "data/image_store.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "common/regular_file.h"

namespace sphereface {

namespace {

std::string ErrnoText(int error) { return std::string(std::strerror(error)); }

int64_t Clamp(int64_t v, int64_t lo, int64_t hi) { return std::min(std::max(v, lo), hi); }

}  // namespace

ImageStorage::ImageStorage(int64_t n, int64_t height, int64_t width)
    : n_(n), height_(height), width_(width) {
  if (n < 0 || height <= 0 || width <= 0) throw std::runtime_error("bad image storage geometry");
}

ShardFiles::ShardFiles(std::vector<std::string> files, int64_t per_shard, int64_t n, int64_t height,
                       int64_t width)
    : ImageStorage(n, height, width),
      files_(std::move(files)),
      per_shard_(per_shard),
      fds_(files_.size(), -1) {
  if (per_shard <= 0) throw std::runtime_error("images per shard must be positive");
  const int64_t needed = (n + per_shard - 1) / per_shard;
  if (static_cast<int64_t>(files_.size()) != needed) {
    throw std::runtime_error(std::to_string(n) + " images of " + std::to_string(per_shard) +
                             " per shard need " + std::to_string(needed) + " shard files, got " +
                             std::to_string(files_.size()));
  }
}

ShardFiles::~ShardFiles() {
  for (int fd : fds_)
    if (fd >= 0) ::close(fd);
}

int ShardFiles::Descriptor(int64_t shard) {
  std::lock_guard<std::mutex> lock(open_mutex_);
  if (fds_[shard] >= 0) return fds_[shard];
  const std::string& file = files_[shard];
  // The TypeScript side checked the shards when the store was opened, but one may have been
  // swapped since: a FIFO must be refused, not waited on.
  const RegularFile opened = OpenRegularFile(file);
  if (opened.fd < 0) {
    throw std::runtime_error(
        "cannot open shard " + file + ": " + opened.error +
        (opened.error_number == 0 ? ", not a regular file; run prepare again to rebuild it" : "") +
        (opened.error_number == EMFILE ? " (raise the open-file limit, ulimit -n)" : ""));
  }
  const int fd = opened.fd;
  const int64_t size = opened.size;
  const int64_t images = std::min(per_shard_, n() - shard * per_shard_);
  const int64_t expected = images * ImageBytes();
  if (size != expected) {
    ::close(fd);
    throw std::runtime_error("shard " + file + " holds " + std::to_string(size) +
                             " bytes, expected " + std::to_string(expected) +
                             "; run prepare again to rebuild it");
  }
  fds_[shard] = fd;
  return fd;
}

void ShardFiles::ReadRows(int64_t index, int64_t row, int64_t rows, uint8_t* dst) {
  const int64_t shard = index / per_shard_;
  const int fd = Descriptor(shard);
  const int64_t row_bytes = width() * 3;
  int64_t at = (index % per_shard_) * ImageBytes() + row * row_bytes;
  int64_t left = rows * row_bytes;
  while (left > 0) {
    const ssize_t got = ::pread(fd, dst, static_cast<size_t>(left), static_cast<off_t>(at));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) {
      throw std::runtime_error("cannot read image " + std::to_string(index) + " from " +
                               files_[shard] + ": " +
                               (got < 0 ? ErrnoText(errno) : std::string("the file is short")));
    }
    dst += got;
    at += got;
    left -= got;
  }
}

MemoryImages::MemoryImages(const uint8_t* data, int64_t n, int64_t height, int64_t width)
    : ImageStorage(n, height, width), data_(data) {}

const uint8_t* MemoryImages::Rows(int64_t index, int64_t row) const {
  return data_ + index * ImageBytes() + row * width() * 3;
}

void MemoryImages::ReadRows(int64_t index, int64_t row, int64_t rows, uint8_t* dst) {
  std::memcpy(dst, Rows(index, row), static_cast<size_t>(rows * width() * 3));
}

void Gather(ImageStorage& storage, const GatherRequest& request, uint8_t* out) {
  const int64_t count = static_cast<int64_t>(request.indices.size());
  const int64_t height = storage.height(), width = storage.width();
  const int64_t out_h = request.out_height, out_w = request.out_width;
  const CropWindow& window = request.window;
  if (out_h <= 0 || out_w <= 0) throw std::runtime_error("output size must be positive");
  if (!request.offsets.empty() && static_cast<int64_t>(request.offsets.size()) != 2 * count)
    throw std::runtime_error("offsets must hold two numbers per image");
  for (int32_t index : request.indices) {
    if (index < 0 || index >= storage.n()) {
      throw std::runtime_error("image index " + std::to_string(index) + " is out of range for " +
                               std::to_string(storage.n()) + " images");
    }
  }
  // The stored pixels the window can ever show.
  const int64_t lo_y = std::max<int64_t>(0, window.top);
  const int64_t hi_y = std::min(height, window.top + window.height);
  const int64_t lo_x = std::max<int64_t>(0, window.left);
  const int64_t hi_x = std::min(width, window.left + window.width);
  const int64_t out_row = out_w * 3, src_row = width * 3, out_bytes = out_h * out_row;
  std::vector<uint8_t> scratch;
  for (int64_t i = 0; i < count; ++i) {
    uint8_t* dst = out + i * out_bytes;
    const int64_t dy = request.offsets.empty() ? 0 : request.offsets[2 * i];
    const int64_t dx = request.offsets.empty() ? 0 : request.offsets[2 * i + 1];
    const int64_t top = window.top + dy, left = window.left + dx;  // stored pixel of out (0, 0)
    const int64_t y0 = Clamp(lo_y - top, 0, out_h), y1 = Clamp(hi_y - top, 0, out_h);
    const int64_t x0 = Clamp(lo_x - left, 0, out_w), x1 = Clamp(hi_x - left, 0, out_w);
    if (y1 <= y0 || x1 <= x0) {
      std::memset(dst, 0, out_bytes);
      continue;
    }
    std::memset(dst, 0, y0 * out_row);
    std::memset(dst + y1 * out_row, 0, (out_h - y1) * out_row);
    const int64_t index = request.indices[i], rows = y1 - y0;
    const int64_t first_row = top + y0, first_col = left + x0;
    const uint8_t* src = storage.Rows(index, first_row);
    if (src == nullptr) {
      if (x0 == 0 && x1 == out_w && out_w == width && first_col == 0) {
        // Whole stored rows land as they are: read them straight into place.
        storage.ReadRows(index, first_row, rows, dst + y0 * out_row);
        continue;
      }
      scratch.resize(rows * src_row);
      storage.ReadRows(index, first_row, rows, scratch.data());
      src = scratch.data();
    }
    for (int64_t y = 0; y < rows; ++y) {
      uint8_t* to = dst + (y0 + y) * out_row;
      std::memset(to, 0, x0 * 3);
      std::memcpy(to + x0 * 3, src + y * src_row + first_col * 3, (x1 - x0) * 3);
      std::memset(to + x1 * 3, 0, (out_w - x1) * 3);
    }
  }
}

}  // namespace sphereface
