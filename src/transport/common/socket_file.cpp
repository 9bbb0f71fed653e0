#include "transport/common/socket_file.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <utility>

#include "transport/common/unique_fd.h"

namespace llm_exporter::transport {
namespace {

[[noreturn]] void Fail(const std::string& path, const std::string& why) {
  throw std::runtime_error("cannot listen on unix socket " + path + ": " + why);
}

std::string ErrnoText(int error) { return std::strerror(error); }

// Whether a process accepts connections (or datagrams) on the socket file `path`. Connecting is
// the only reliable test: a crashed run leaves a file that refuses every connection.
bool SocketIsLive(const std::string& path, int type) {
  socklen_t length = 0;
  const sockaddr_un address = UnixSocketAddress(path, &length);
  UniqueFd probe(::socket(AF_UNIX, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!probe.valid()) Fail(path, "socket: " + ErrnoText(errno));
  if (::connect(probe.get(), reinterpret_cast<const sockaddr*>(&address), length) == 0) {
    return true;
  }
  switch (errno) {
    case ECONNREFUSED:  // nobody listens: a leftover
    case ENOENT:        // gone in the meantime
      return false;
    case EAGAIN:        // a stream listener whose backlog is full
    case EPROTOTYPE:    // a live socket of the other type (stream vs datagram)
      return true;
    default:
      Fail(path, "cannot tell whether another process listens on it: connect: " +
                     ErrnoText(errno));
  }
}

}  // namespace

sockaddr_un UnixSocketAddress(const std::string& path, socklen_t* length) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.empty()) throw std::runtime_error("unix socket path is empty");
  if (path.size() >= sizeof(address.sun_path)) {
    throw std::runtime_error("unix socket path " + path + " is " + std::to_string(path.size()) +
                             " bytes long; at most " +
                             std::to_string(sizeof(address.sun_path) - 1) + " fit");
  }
  std::memcpy(address.sun_path, path.data(), path.size());
  *length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() + 1);
  return address;
}

bool SocketDirectoryExists(const std::string& path) {
  const std::size_t slash = path.rfind('/');
  const std::string directory =
      slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  struct stat info {};
  return ::stat(directory.c_str(), &info) == 0 && S_ISDIR(info.st_mode);
}

std::string ModeText(mode_t mode) {
  char text[8];
  std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(mode & 07777));
  return text;
}

SocketFile::SocketFile(SocketFile&& other) noexcept
    : path_(std::move(other.path_)),
      device_(other.device_),
      inode_(other.inode_),
      bound_(std::exchange(other.bound_, false)) {}

SocketFile& SocketFile::operator=(SocketFile&& other) noexcept {
  if (this != &other) {
    Remove();
    path_ = std::move(other.path_);
    device_ = other.device_;
    inode_ = other.inode_;
    bound_ = std::exchange(other.bound_, false);
  }
  return *this;
}

SocketFile SocketFile::Bind(int fd, const std::string& path, mode_t mode) {
  socklen_t length = 0;
  const sockaddr_un address = UnixSocketAddress(path, &length);

  struct stat existing {};
  if (::lstat(path.c_str(), &existing) == 0) {
    if (!S_ISSOCK(existing.st_mode)) {
      Fail(path, "the path exists and is not a socket; refusing to replace it (remove it or "
                 "choose another path)");
    }
    int type = SOCK_STREAM;
    socklen_t type_length = sizeof type;
    ::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &type_length);
    if (SocketIsLive(path, type)) {
      Fail(path, "another process is listening on it (another llm_exporter?)");
    }
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
      Fail(path, "cannot remove the stale socket file left by an earlier run: " +
                     ErrnoText(errno));
    }
  } else if (errno != ENOENT) {
    Fail(path, ErrnoText(errno));
  }

  if (::bind(fd, reinterpret_cast<const sockaddr*>(&address), length) != 0) {
    const int error = errno;
    if (error == ENOENT || error == ENOTDIR) Fail(path, "its directory does not exist");
    if (error == EADDRINUSE) Fail(path, "another process created it just now");
    Fail(path, "bind: " + ErrnoText(error));
  }
  SocketFile file;
  file.path_ = path;
  file.bound_ = true;
  // A stream socket refuses connections until listen(), which comes after this. A datagram
  // socket could take a datagram in between, but only from a sender the umask already let in.
  struct stat bound {};
  if (::chmod(path.c_str(), mode) != 0) {
    const int error = errno;
    ::unlink(path.c_str());
    file.bound_ = false;
    Fail(path, "cannot set its mode to " + ModeText(mode) + ": " + ErrnoText(error));
  }
  if (::lstat(path.c_str(), &bound) == 0) {
    file.device_ = bound.st_dev;
    file.inode_ = bound.st_ino;
  }
  return file;
}

void SocketFile::Remove() {
  if (!bound_) return;
  bound_ = false;
  struct stat current {};
  if (::lstat(path_.c_str(), &current) != 0) return;
  if (S_ISSOCK(current.st_mode) && current.st_dev == device_ && current.st_ino == inode_) {
    ::unlink(path_.c_str());
  }
}

}  // namespace llm_exporter::transport
