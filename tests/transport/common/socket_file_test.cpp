#include "transport/common/socket_file.h"

#include <doctest/doctest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <stdexcept>
#include <string>

#include "fakes/pipeline_fixture.h"
#include "transport/common/unique_fd.h"

namespace llm_exporter::transport {
namespace {

using testing::TempDir;

UniqueFd UnixSocket(int type = SOCK_STREAM) {
  return UniqueFd(::socket(AF_UNIX, type | SOCK_CLOEXEC, 0));
}

bool IsSocket(const std::string& path) {
  struct stat info {};
  return ::lstat(path.c_str(), &info) == 0 && S_ISSOCK(info.st_mode);
}

bool Exists(const std::string& path) {
  struct stat info {};
  return ::lstat(path.c_str(), &info) == 0;
}

mode_t ModeOf(const std::string& path) {
  struct stat info {};
  REQUIRE(::lstat(path.c_str(), &info) == 0);
  return info.st_mode & 07777;
}

std::string ErrorOf(int fd, const std::string& path, mode_t mode = 0660) {
  try {
    SocketFile::Bind(fd, path, mode);
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "";
}

TEST_CASE("SocketFile: binds with the mode asked for and removes the file when destroyed") {
  TempDir dir;
  const std::string path = dir / "a.sock";
  UniqueFd fd = UnixSocket();
  {
    SocketFile file = SocketFile::Bind(fd.get(), path, 0660);
    CHECK(file.path() == path);
    CHECK(IsSocket(path));
    CHECK(ModeOf(path) == 0660);
  }
  CHECK_FALSE(Exists(path));

  UniqueFd other = UnixSocket(SOCK_DGRAM);
  SocketFile file = SocketFile::Bind(other.get(), path, 0600);
  CHECK(ModeOf(path) == 0600);
  file.Remove();
  CHECK_FALSE(Exists(path));
  file.Remove();  // idempotent
}

TEST_CASE("SocketFile: a stale socket file left by a crashed run is replaced") {
  TempDir dir;
  const std::string path = dir / "stale.sock";
  {
    UniqueFd crashed = UnixSocket();
    socklen_t length = 0;
    const sockaddr_un address = UnixSocketAddress(path, &length);
    REQUIRE(::bind(crashed.get(), reinterpret_cast<const sockaddr*>(&address), length) == 0);
  }  // closed without unlinking, as after a crash
  REQUIRE(IsSocket(path));
  for (const int type : {SOCK_STREAM, SOCK_DGRAM}) {
    UniqueFd fd = UnixSocket(type);
    SocketFile file = SocketFile::Bind(fd.get(), path, 0660);
    CHECK(IsSocket(path));
    // Leave it stale again for the next type.
    file = SocketFile();
    fd = UnixSocket();
    socklen_t length = 0;
    const sockaddr_un address = UnixSocketAddress(path, &length);
    REQUIRE(::bind(fd.get(), reinterpret_cast<const sockaddr*>(&address), length) == 0);
  }
}

TEST_CASE("SocketFile: a socket another process listens on is refused, not stolen") {
  TempDir dir;
  const std::string path = dir / "live.sock";
  UniqueFd live = UnixSocket();
  SocketFile live_file = SocketFile::Bind(live.get(), path, 0660);
  REQUIRE(::listen(live.get(), 8) == 0);

  UniqueFd second = UnixSocket();
  const std::string error = ErrorOf(second.get(), path);
  CHECK(error.find(path) != std::string::npos);
  CHECK(error.find("another process is listening") != std::string::npos);
  UniqueFd datagram = UnixSocket(SOCK_DGRAM);
  CHECK(ErrorOf(datagram.get(), path).find("another process") != std::string::npos);
  CHECK(IsSocket(path));  // still the first one's
}

TEST_CASE("SocketFile: a path that is not a socket is refused with a message naming it") {
  TempDir dir;
  const std::string path = dir / "regular";
  std::ofstream(path) << "keep me";
  UniqueFd fd = UnixSocket();
  const std::string error = ErrorOf(fd.get(), path);
  CHECK(error ==
        "cannot listen on unix socket " + path +
            ": the path exists and is not a socket; refusing to replace it (remove it or choose "
            "another path)");
  std::ifstream in(path);
  std::string content;
  std::getline(in, content);
  CHECK(content == "keep me");

  const std::string directory = dir / "subdir";
  REQUIRE(::mkdir(directory.c_str(), 0700) == 0);
  CHECK(ErrorOf(fd.get(), directory).find("is not a socket") != std::string::npos);
}

TEST_CASE("SocketFile: a missing directory and an over-long path are clear errors") {
  TempDir dir;
  UniqueFd fd = UnixSocket();
  const std::string missing = dir / "no/such/dir.sock";
  CHECK(ErrorOf(fd.get(), missing) ==
        "cannot listen on unix socket " + missing + ": its directory does not exist");
  const std::string long_path = dir / std::string(120, 'x');
  CHECK(ErrorOf(fd.get(), long_path).find("bytes long; at most 107 fit") != std::string::npos);
  CHECK(ErrorOf(fd.get(), "").find("empty") != std::string::npos);
}

TEST_CASE("SocketFile: the file is removed only while it is still the socket bound here") {
  TempDir dir;
  const std::string path = dir / "moved.sock";
  UniqueFd first = UnixSocket();
  SocketFile file = SocketFile::Bind(first.get(), path, 0660);
  // Someone else replaced it (an operator, or a second agent after this one's socket went).
  REQUIRE(::unlink(path.c_str()) == 0);
  UniqueFd second = UnixSocket();
  SocketFile other = SocketFile::Bind(second.get(), path, 0660);
  file.Remove();
  CHECK(IsSocket(path));
  other.Remove();
  CHECK_FALSE(Exists(path));
}

TEST_CASE("SocketFile: the directory test and mode text") {
  TempDir dir;
  CHECK(SocketDirectoryExists(dir / "x.sock"));
  CHECK_FALSE(SocketDirectoryExists(dir / "missing/x.sock"));
  CHECK(SocketDirectoryExists("relative.sock"));
  CHECK(ModeText(0660) == "0660");
  CHECK(ModeText(0600) == "0600");
}

}  // namespace
}  // namespace llm_exporter::transport
