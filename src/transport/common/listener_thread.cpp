#include "transport/common/listener_thread.h"

#include <pthread.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <exception>

namespace llm_exporter::transport {

std::runtime_error StartError(std::string_view where, std::string_view what, int error) {
  return std::runtime_error("cannot listen on " + std::string(where) + ": " + std::string(what) +
                            ": " + std::strerror(error));
}

void ListenerThread::Prepare() {
  if (wake_fd_.valid()) return;
  wake_fd_.Reset(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (!wake_fd_.valid()) throw StartError(where_, "eventfd", errno);
}

void ListenerThread::Start(const char* name, std::function<void()> body) {
  Prepare();
  thread_ = std::thread([this, name = std::string(name), body = std::move(body)] {
    pthread_setname_np(pthread_self(), name.c_str());  // before the body runs, so it logs named
    try {
      body();
    } catch (const std::exception& e) {
      spdlog::error("{}: no longer serving after an unexpected error: {}", where_, e.what());
      CountError();
    } catch (...) {
      spdlog::error("{}: no longer serving after an unexpected error", where_);
      CountError();
    }
  });
}

void ListenerThread::Stop() {
  if (!thread_.joinable()) return;
  const uint64_t one = 1;
  while (::write(wake_fd_.get(), &one, sizeof one) < 0 && errno == EINTR) {
  }
  thread_.join();
}

}  // namespace llm_exporter::transport
