#include "train/model_file.h"

#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>

#include "common/new_file.h"
#include "common/regular_file.h"

namespace sphereface {

namespace {

constexpr char kMagic[8] = {'S', 'P', 'H', 'F', 'A', 'C', 'E', '\x01'};
constexpr uint32_t kFormatVersion = 2;
constexpr uint32_t kFirstFormatVersion = 1;  // read as embedding dim 512, no easy margin
constexpr uint32_t kThresholdSection = 1;

uint64_t Fnv1a(const char* data, size_t size) {
  uint64_t hash = 1469598103934665603ull;
  for (size_t i = 0; i < size; ++i) {
    hash ^= static_cast<uint8_t>(data[i]);
    hash *= 1099511628211ull;
  }
  return hash;
}

class Writer {
 public:
  template <typename T>
  void Put(T value) {
    Bytes(&value, sizeof(T));
  }
  void String(const std::string& s) {
    Put<uint32_t>(static_cast<uint32_t>(s.size()));
    Bytes(s.data(), s.size());
  }
  void Bytes(const void* data, size_t size) {
    const char* p = static_cast<const char*>(data);
    buffer_.insert(buffer_.end(), p, p + size);
  }
  std::vector<char>& buffer() { return buffer_; }

 private:
  std::vector<char> buffer_;
};

// A name read from a file, as an error message shows it: bytes outside printable ASCII as \xHH
// (a NUL would end the message where JavaScript receives it).
std::string Printable(const std::string& name) {
  std::string out;
  for (const unsigned char c : name) {
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out += static_cast<char>(c);
    } else {
      constexpr char kHex[] = "0123456789abcdef";
      out += {'\\', 'x', kHex[c >> 4], kHex[c & 15]};
    }
  }
  return out;
}

class Reader {
 public:
  Reader(const std::vector<char>& data, size_t end, std::string path)
      : data_(data), end_(end), path_(std::move(path)) {}
  template <typename T>
  T Get() {
    T value;
    Bytes(&value, sizeof(T));
    return value;
  }
  std::string String() {
    const uint32_t size = Get<uint32_t>();
    TORCH_CHECK(size < 4096, path_, ": is corrupted (a name of ", size, " bytes)");
    std::string s(size, '\0');
    Bytes(s.data(), size);
    return s;
  }
  void Bytes(void* out, size_t size) { std::memcpy(out, data_.data() + Skip(size), size); }
  // Moves past `size` bytes and returns where they start.
  size_t Skip(size_t size) {
    TORCH_CHECK(size <= end_ - offset_, path_, ": is truncated (needs ", size,
                " more bytes at offset ", offset_, ", file data ends at ", end_, ")");
    offset_ += size;
    return offset_ - size;
  }
  size_t offset() const { return offset_; }
  size_t remaining() const { return end_ - offset_; }

 private:
  const std::vector<char>& data_;
  size_t end_;
  size_t offset_ = 0;
  std::string path_;
};

struct StoredTensor {
  std::string name;
  std::vector<int64_t> sizes;
  size_t offset = 0;  // of its float data in the file
};

// The whole of a regular file. Anything else is refused by name before a byte is read (a FIFO
// would wait for a writer forever, and a directory has no bytes to give).
std::vector<char> ReadRegularFile(const std::string& path) {
  const RegularFile file = OpenRegularFile(path);
  TORCH_CHECK(file.fd >= 0, "cannot read model file ", path, ": ", file.error,
              file.error_number == 0 ? ", not a model file" : "");
  std::vector<char> data(static_cast<size_t>(file.size));
  std::string error;
  size_t done = 0;
  while (done < data.size() && error.empty()) {
    const ssize_t got = ::read(file.fd, data.data() + done, data.size() - done);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) error = std::strerror(errno);
    if (got == 0) error = "the file shrank while it was read";
    if (got > 0) done += static_cast<size_t>(got);
  }
  ::close(file.fd);
  TORCH_CHECK(error.empty(), "cannot read model file ", path, ": ", error);
  return data;
}

}  // namespace

void WriteModelFile(const std::string& path, const TrainingState& state,
                    const SaveOptions& options) {
  const ModelConfig& config = state.config();
  Writer out;
  out.Bytes(kMagic, sizeof(kMagic));
  out.Put<uint32_t>(kFormatVersion);
  out.String(config.arch);
  out.Put<int64_t>(config.classes);
  out.Put<int64_t>(config.embedding_dim);
  out.Put<uint32_t>(static_cast<uint32_t>(config.head.kind));
  out.Put<double>(config.head.m);
  out.Put<double>(config.head.scale);
  out.Put<double>(config.head.lambda);
  out.Put<uint8_t>(config.head.easy_margin ? 1 : 0);
  out.Put<double>(config.normalisation.mean);
  out.Put<double>(config.normalisation.std);
  out.Put<int64_t>(state.steps());
  NamedTensors tensors;
  for (auto& [name, tensor] : state.State()) {
    if (options.weights_only && name.rfind("momentum.", 0) == 0) continue;
    tensors.emplace_back(name, std::move(tensor));
  }
  out.Put<uint32_t>(static_cast<uint32_t>(tensors.size()));
  for (const auto& [name, tensor] : tensors) {
    out.String(name);
    out.Put<uint32_t>(static_cast<uint32_t>(tensor.dim()));
    for (int64_t size : tensor.sizes()) out.Put<int64_t>(size);
    torch::Tensor data = tensor.to(torch::kFloat32).contiguous();
    out.Bytes(data.data_ptr<float>(), data.numel() * sizeof(float));
  }
  if (options.threshold) {
    const VerificationThreshold& threshold = *options.threshold;
    out.Put<uint32_t>(kThresholdSection);
    out.Put<uint64_t>(sizeof(double) + sizeof(uint32_t) + threshold.protocol.size());
    out.Put<double>(threshold.value);
    out.String(threshold.protocol);
  }
  out.Put<uint64_t>(Fnv1a(out.buffer().data(), out.buffer().size()));
  WriteNewFile(path, out.buffer());
}

LoadedModel ReadModelFile(const std::string& path, torch::Device device,
                          const std::string& expected_arch) {
  const std::vector<char> data = ReadRegularFile(path);
  TORCH_CHECK(
      data.size() >= sizeof(kMagic) && std::memcmp(data.data(), kMagic, sizeof(kMagic)) == 0, path,
      ": is not a sphereface model file");
  // The checksum sits in the last 8 bytes; the reader stops before it so truncation shows up as
  // a missing field (with its offset) rather than only a checksum mismatch.
  const size_t body = data.size() >= sizeof(kMagic) + 8 ? data.size() - 8 : data.size();
  Reader in(data, body, path);
  in.Skip(sizeof(kMagic));
  const uint32_t version = in.Get<uint32_t>();
  TORCH_CHECK(version == kFormatVersion || version == kFirstFormatVersion, path,
              ": model file format ", version, " is not supported (this version reads formats ",
              kFirstFormatVersion, " to ", kFormatVersion, ")");
  ModelConfig config;
  config.arch = in.String();
  TORCH_CHECK(IsArch(config.arch), path, ": is corrupted (unknown arch '", Printable(config.arch),
              "')");
  TORCH_CHECK(expected_arch.empty() || expected_arch == config.arch, path, ": holds a ",
              config.arch, " model, not ", expected_arch);
  config.classes = in.Get<int64_t>();
  config.embedding_dim = version == kFirstFormatVersion ? kEmbeddingDim : in.Get<int64_t>();
  const uint32_t kind = in.Get<uint32_t>();
  TORCH_CHECK(kind <= static_cast<uint32_t>(MarginKind::kSoftmax), path,
              ": is corrupted (head kind ", kind, ")");
  config.head.kind = static_cast<MarginKind>(kind);
  config.head.m = in.Get<double>();
  config.head.scale = in.Get<double>();
  config.head.lambda = in.Get<double>();
  if (version != kFirstFormatVersion) {
    const uint8_t easy_margin = in.Get<uint8_t>();
    TORCH_CHECK(easy_margin <= 1, path, ": is corrupted (easy margin ", int{easy_margin}, ")");
    config.head.easy_margin = easy_margin == 1;
  }
  config.normalisation.mean = in.Get<double>();
  config.normalisation.std = in.Get<double>();
  const int64_t steps = in.Get<int64_t>();

  // The tensor table first, without allocating: every size is checked against the bytes left.
  const uint32_t count = in.Get<uint32_t>();
  std::vector<StoredTensor> stored;
  for (uint32_t t = 0; t < count; ++t) {
    StoredTensor tensor;
    tensor.name = in.String();
    const uint32_t ndim = in.Get<uint32_t>();
    TORCH_CHECK(ndim <= 8, path, ": is corrupted (tensor '", Printable(tensor.name), "' has ", ndim,
                " dims)");
    tensor.sizes.resize(ndim);
    for (auto& size : tensor.sizes) size = in.Get<int64_t>();
    const size_t most = in.remaining() / sizeof(float);  // elements the file still holds
    size_t numel = 1;
    for (int64_t size : tensor.sizes) {
      TORCH_CHECK(size >= 0, path, ": is corrupted (tensor '", Printable(tensor.name),
                  "' has a dimension of ", size, ")");
      TORCH_CHECK(size == 0 || numel <= most / static_cast<size_t>(size), path,
                  ": is truncated or corrupted (tensor '", Printable(tensor.name), "' of shape ",
                  c10::IntArrayRef(tensor.sizes), " needs more than the ", in.remaining(),
                  " bytes left)");
      numel *= static_cast<size_t>(size);
    }
    tensor.offset = in.Skip(numel * sizeof(float));
    stored.push_back(std::move(tensor));
  }
  LoadedModel loaded;
  while (in.remaining() >= sizeof(uint32_t) + sizeof(uint64_t)) {
    const uint32_t tag = in.Get<uint32_t>();
    const uint64_t length = in.Get<uint64_t>();
    TORCH_CHECK(length <= in.remaining(), path, ": is truncated or corrupted (section ", tag,
                " of ", length, " bytes, ", in.remaining(), " left)");
    if (tag == kThresholdSection) {
      // f64 value, then the protocol as a string that fills the rest of the section.
      constexpr uint64_t kFixed = sizeof(double) + sizeof(uint32_t);
      TORCH_CHECK(length >= kFixed, path, ": is corrupted (its threshold section)");
      VerificationThreshold threshold;
      threshold.value = in.Get<double>();
      const uint32_t size = in.Get<uint32_t>();
      TORCH_CHECK(size == length - kFixed && std::isfinite(threshold.value), path,
                  ": is corrupted (its threshold section)");
      threshold.protocol.resize(size);
      in.Bytes(threshold.protocol.data(), size);
      loaded.threshold = std::move(threshold);
    } else {
      in.Skip(length);
    }
  }
  TORCH_CHECK(in.offset() == body && data.size() >= body + 8, path,
              ": is truncated or has trailing bytes");
  uint64_t checksum;
  std::memcpy(&checksum, data.data() + body, sizeof(checksum));
  TORCH_CHECK(checksum == Fnv1a(data.data(), body), path, ": is corrupted (checksum mismatch)");

  // The sizes the header declares, against the stored head and fc, before the model is built.
  TORCH_CHECK(config.classes >= 2 && config.classes < (int64_t{1} << 31), path, ": is corrupted (",
              config.classes, " classes)");
  TORCH_CHECK(config.embedding_dim >= 1 && config.embedding_dim < (int64_t{1} << 31), path,
              ": is corrupted (embedding dim ", config.embedding_dim, ")");
  const std::vector<int64_t> head_shape = {config.classes, config.embedding_dim};
  bool has_head = false, has_fc = false;
  for (const auto& tensor : stored) {
    if (tensor.name == "net.fc.weight") {
      // The net's fc is built from the declared dim: its stored rows vouch for that size.
      TORCH_CHECK(!tensor.sizes.empty() && tensor.sizes[0] == config.embedding_dim, path,
                  ": is corrupted (it declares embedding dim ", config.embedding_dim,
                  ", but 'net.fc.weight' has shape ", c10::IntArrayRef(tensor.sizes), ")");
      has_fc = true;
    }
    if (tensor.name != "head.weight" && tensor.name != "momentum.head.weight") continue;
    TORCH_CHECK(tensor.sizes == head_shape, path, ": is corrupted (it declares ", config.classes,
                " classes, but '", tensor.name, "' has shape ", c10::IntArrayRef(tensor.sizes),
                ")");
    has_head = has_head || tensor.name == "head.weight";
  }
  TORCH_CHECK(has_head, path, ": tensor 'head.weight' is missing");
  TORCH_CHECK(has_fc, path, ": tensor 'net.fc.weight' is missing");

  NamedTensors tensors;
  for (const auto& tensor : stored) {
    torch::Tensor copy = torch::empty(tensor.sizes, torch::kFloat32);
    std::memcpy(copy.data_ptr<float>(), data.data() + tensor.offset, copy.nbytes());
    tensors.emplace_back(tensor.name, std::move(copy));
  }
  // The fresh init is overwritten at once: its seed is irrelevant and the global RNG unused.
  loaded.state = std::make_unique<TrainingState>(config, device, 0);
  loaded.state->LoadState(tensors, steps, path);
  return loaded;
}

}  // namespace sphereface
