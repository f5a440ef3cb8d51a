#include "train/state_dict_export.h"

#include <caffe2/serialize/inline_container.h>
#include <torch/csrc/jit/serialization/export.h>
#include <torch/csrc/jit/serialization/pickler.h>

#include "common/new_file.h"

namespace sphereface {

void WriteStateDict(const std::string& path, const TrainingState& state) {
  c10::Dict<std::string, torch::Tensor> weights;  // keeps insertion order, as torch.save does
  for (const auto& [name, tensor] : state.Weights()) {
    weights.insert(name, tensor.to(torch::kFloat32).contiguous());
  }
  std::vector<char> pickled;
  torch::jit::Pickler pickler(
      [&pickled](const char* bytes, size_t size) {
        pickled.insert(pickled.end(), bytes, bytes + size);
      },
      /*tensor_table=*/nullptr, /*type_renamer=*/nullptr, /*memoized_class_types=*/nullptr,
      /*get_tensor_id=*/nullptr, /*tag_aggregates=*/false);
  pickler.protocol();
  pickler.pushIValue(weights);
  pickler.stop();

  std::vector<char> archive;
  {
    caffe2::serialize::PyTorchStreamWriter writer([&archive](const void* data, size_t size) {
      const char* bytes = static_cast<const char*>(data);
      archive.insert(archive.end(), bytes, bytes + size);
      return size;
    });
    torch::jit::writeArchiveAndTensors("data", pickled.data(), pickled.size(), pickler.tensorData(),
                                       writer);
    writer.writeEndOfFile();
  }
  WriteNewFile(path, archive);
}

}  // namespace sphereface
