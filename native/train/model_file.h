// The model file: arch, head, preprocessing, step count, weights and optimiser state in one
// little-endian binary file.
//
//   "SPHFACE\x01"                      8-byte magic
//   u32 format version (2)
//   string arch; i64 classes; i64 embedding dim; u32 head kind; f64 m, scale, lambda;
//   u8 easy margin; f64 mean, std; i64 steps
//   u32 tensor count, then per tensor: string name; u32 ndim; i64 dims[ndim]; f32 data
//   optional sections, each u32 tag; u64 length; `length` bytes:
//     tag 1, the verification threshold: f64 value; string protocol (how it was found)
//   u64 FNV-1a checksum of every byte before it
// (a string is a u32 length then its bytes). Format 1, still read, had neither the embedding
// dim (512) nor the easy margin (off). Our own format rather than torch::save so that a
// truncated, foreign or other-arch file is recognised and named precisely. A weights-only file
// leaves out the "momentum.*" tensors. Files without sections read as before, and a reader skips
// a tag it does not know (a section is never needed to use the weights; anything that is needs a
// new format version).
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "train/training_state.h"

namespace sphereface {

struct VerificationThreshold {
  double value = 0;
  std::string protocol;
};

struct SaveOptions {
  bool weights_only = false;  // leave out the optimiser state
  std::optional<VerificationThreshold> threshold;
};

struct LoadedModel {
  std::unique_ptr<TrainingState> state;
  std::optional<VerificationThreshold> threshold;
};

// Writes a new file at `path` (refused if one exists), synced before it returns: the caller
// writes to a fresh temporary name and renames it into place.
void WriteModelFile(const std::string& path, const TrainingState& state,
                    const SaveOptions& options);

// Reads `path` onto `device`. `expected_arch` empty accepts any arch. Throws c10::Error naming
// the file and what is wrong with it: anything but a regular file is refused before a byte is
// read (a FIFO would block), and every size the file declares is checked against its length and
// the stored shapes before anything is allocated for it (the checksum is no defence: anyone can
// recompute it).
LoadedModel ReadModelFile(const std::string& path, torch::Device device,
                          const std::string& expected_arch);

}  // namespace sphereface
