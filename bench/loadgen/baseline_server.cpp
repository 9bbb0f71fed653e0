#include "loadgen/baseline_server.h"

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

extern char** environ;

namespace llm_exporter::bench {

bool BaselineServer::Start(const std::string& binary, std::string* error) {
  Stop();
  int out[2];
  if (pipe(out) != 0) {
    *error = std::string("pipe: ") + std::strerror(errno);
    return false;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&actions, out[0]);
  posix_spawn_file_actions_addclose(&actions, out[1]);
  std::string listen = "--listen=127.0.0.1:0";
  char* argv[] = {const_cast<char*>(binary.c_str()), listen.data(), nullptr};
  const int spawned = posix_spawn(&pid_, binary.c_str(), &actions, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  close(out[1]);
  if (spawned != 0) {
    close(out[0]);
    pid_ = -1;
    *error = "cannot run " + binary + ": " + std::strerror(spawned);
    return false;
  }
  // The first line: "listening on 127.0.0.1:PORT". Read up to it, byte by byte, so that nothing
  // after it is taken from the pipe (the server writes nothing more).
  std::string line;
  char c = 0;
  while (line.size() < 200 && read(out[0], &c, 1) == 1 && c != '\n') line.push_back(c);
  close(out[0]);
  const std::size_t colon = line.rfind(':');
  if (!line.starts_with("listening on ") || colon == std::string::npos ||
      std::sscanf(line.c_str() + colon + 1, "%d", &port_) != 1 || port_ <= 0) {
    *error = binary + " did not start (it said \"" + line + "\")";
    Stop();
    return false;
  }
  return true;
}

void BaselineServer::Stop() {
  if (pid_ <= 0) return;
  kill(pid_, SIGTERM);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
  port_ = 0;
}

}  // namespace llm_exporter::bench
