// A model's weights as a PyTorch state_dict file, in torch.save's zip format: libtorch's own
// pickler and archive writer (the pieces torch::pickle_save uses, in libtorch 1.13 and 2.x alike)
// write a dict of float32 CPU tensors in the net's layer order, named as TrainingState::Weights()
// names them, which python/sphereface_torch.py's modules load with load_state_dict as it is.
// Unlike pickle_save, the dict is not wrapped in torch.jit._pickle.restore_type_tag: the file
// holds only the globals a Python state_dict holds, so torch.load(weights_only=True) (the
// default since PyTorch 2.6) reads it.
#pragma once

#include <string>

#include "train/training_state.h"

namespace sphereface {

// Writes a new file at `path` (refused if one exists), synced before it returns.
void WriteStateDict(const std::string& path, const TrainingState& state);

}  // namespace sphereface
