// The model file: arch, head, preprocessing, step count, weights and optimiser state in one
// little-endian binary file.
//
//   "SPHFACE\x01"                      8-byte magic
//   u32 format version (2)
//   string arch; i64 classes; i64 embedding dim; u32 head kind; f64 m, scale, lambda;
//   u8 easy margin; f64 mean, std; i64 steps
//   u32 tensor count, then per tensor: string name; u32 ndim; i64 dims[ndim]; f32 data
//   u64 FNV-1a checksum of every byte before it
// (a string is a u32 length then its bytes). Format 1, still read, had neither the embedding
// dim (512) nor the easy margin (off). Our own format rather than torch::save so that a
// truncated, foreign or other-arch file is recognised and named precisely.
#pragma once

#include <memory>
#include <string>

#include "train/training_state.h"

namespace sphereface {

// Writes a new file at `path` (refused if one exists), synced before it returns: the caller
// writes to a fresh temporary name and renames it into place.
void WriteModelFile(const std::string& path, const TrainingState& state);

// Reads `path` onto `device`. `expected_arch` empty accepts any arch. Throws c10::Error naming
// the file and what is wrong with it: anything but a regular file is refused before a byte is
// read (a FIFO would block), and every size the file declares is checked against its length and
// the stored shapes before anything is allocated for it (the checksum is no defence: anyone can
// recompute it).
std::unique_ptr<TrainingState> ReadModelFile(const std::string& path, torch::Device device,
                                             const std::string& expected_arch);

}  // namespace sphereface
