// Opening a file that must be a regular one, without waiting on anything else: open() of a FIFO
// for reading blocks until a writer comes, so the file is opened non-blocking and the opened
// descriptor itself is checked (a check of the path before opening would race a swap).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

namespace sphereface {

// "a directory", "a FIFO", "a socket", "a device" or "a special file".
const char* FileKind(mode_t mode);

struct RegularFile {
  int fd = -1;       // read-only, O_NONBLOCK | O_CLOEXEC; the caller closes it
  int64_t size = 0;  // at the fstat
  // When fd < 0: the errno text of the open or fstat (`error_number` its errno), or, for a file
  // that is not regular, "it is a FIFO" (`error_number` 0).
  std::string error;
  int error_number = 0;
};

RegularFile OpenRegularFile(const std::string& path);

}  // namespace sphereface
