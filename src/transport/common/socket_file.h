// A unix socket's name in the file system: the stale file of a crashed run is replaced, a live
// socket or anything that is not a socket is refused, the mode is applied, and the name is
// removed again on shut-down.
#pragma once

#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>

#include <string>

namespace llm_exporter::transport {

// Owns the name a listener bound, and removes it only while it still names that socket (so an
// agent that lost its path to another one never deletes the other's socket).
// Not thread-safe: created, moved and destroyed on one thread.
class SocketFile {
 public:
  SocketFile() = default;  // names nothing
  ~SocketFile() { Remove(); }
  SocketFile(SocketFile&& other) noexcept;
  SocketFile& operator=(SocketFile&& other) noexcept;
  SocketFile(const SocketFile&) = delete;
  SocketFile& operator=(const SocketFile&) = delete;

  // Binds `fd`, an AF_UNIX socket, to `path` and gives the file `mode`. A socket file nobody
  // listens on is replaced; a live socket, or a path that is not a socket, is refused. Throws
  // std::runtime_error with a one-line message that names the path.
  static SocketFile Bind(int fd, const std::string& path, mode_t mode);

  // Removes the name if it still is the socket bound here; later calls do nothing.
  void Remove();

  const std::string& path() const { return path_; }

 private:
  std::string path_;
  dev_t device_ = 0;
  ino_t inode_ = 0;
  bool bound_ = false;
};

// `path` as a socket address, with its length in *length. Throws std::runtime_error when the
// path is empty or longer than a sockaddr_un holds (107 bytes).
sockaddr_un UnixSocketAddress(const std::string& path, socklen_t* length);

// True when the directory that would hold the socket file `path` exists.
bool SocketDirectoryExists(const std::string& path);

// "0660" for 0660: the way --ingest.unixsocket-mode spells a mode.
std::string ModeText(mode_t mode);

}  // namespace llm_exporter::transport
