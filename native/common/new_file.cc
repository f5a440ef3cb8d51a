#include "common/new_file.h"

#include <c10/util/Exception.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace sphereface {

namespace {

void WriteAll(int fd, const std::vector<char>& data, const std::string& path) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t wrote = ::write(fd, data.data() + done, data.size() - done);
    if (wrote < 0 && errno == EINTR) continue;
    TORCH_CHECK(wrote > 0, "cannot write ", path, ": ", std::strerror(errno));
    done += static_cast<size_t>(wrote);
  }
}

}  // namespace

void WriteNewFile(const std::string& path, const std::vector<char>& data) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  TORCH_CHECK(fd >= 0, "cannot write ", path, ": ", std::strerror(errno));
  try {
    WriteAll(fd, data, path);
    TORCH_CHECK(::fsync(fd) == 0, "cannot write ", path, ": ", std::strerror(errno));
  } catch (...) {
    ::close(fd);
    std::remove(path.c_str());
    throw;
  }
  TORCH_CHECK(::close(fd) == 0, "cannot write ", path, ": ", std::strerror(errno));
}

}  // namespace sphereface
