// Writing a file whole and durably under a fresh name: the callers write to a temporary path that
// TypeScript renames into place (lib/util/atomic-write.ts), so a reader, or a crash, sees the old
// file or the complete new one.
#pragma once

#include <string>
#include <vector>

namespace sphereface {

// Creates `path` (refused if anything exists there), writes `data`, syncs it. On failure the
// partial file is removed and c10::Error names the path.
void WriteNewFile(const std::string& path, const std::vector<char>& data);

}  // namespace sphereface
