#include "common/regular_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace sphereface {

const char* FileKind(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISCHR(mode) || S_ISBLK(mode)) return "a device";
  return "a special file";
}

RegularFile OpenRegularFile(const std::string& path) {
  RegularFile file;
  // O_NONBLOCK: a FIFO opens at once instead of waiting for a writer; it changes nothing for a
  // regular file's reads.
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    file.error_number = errno;
    file.error = std::strerror(file.error_number);
    return file;
  }
  struct stat info;
  if (::fstat(fd, &info) != 0) {
    file.error_number = errno;
    file.error = std::strerror(file.error_number);
  } else if (!S_ISREG(info.st_mode)) {
    file.error = std::string("it is ") + FileKind(info.st_mode);
  } else {
    file.fd = fd;
    file.size = static_cast<int64_t>(info.st_size);
    return file;
  }
  ::close(fd);
  return file;
}

}  // namespace sphereface
