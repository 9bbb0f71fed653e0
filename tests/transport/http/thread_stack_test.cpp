#include "transport/http/thread_stack.h"

#include <doctest/doctest.h>
#include <pthread.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <thread>
#include <vector>

namespace llm_exporter::transport {
namespace {

// Resident pages of the calling thread's stack, from its lowest address to `below`.
std::size_t ResidentStackPages(std::uintptr_t below) {
  pthread_attr_t attr;
  pthread_getattr_np(pthread_self(), &attr);
  void* address = nullptr;
  std::size_t size = 0;
  pthread_attr_getstack(&attr, &address, &size);
  pthread_attr_destroy(&attr);
  const std::uintptr_t page = static_cast<std::uintptr_t>(sysconf(_SC_PAGESIZE));
  const std::uintptr_t low = reinterpret_cast<std::uintptr_t>(address);
  const std::size_t pages = (below - low) / page;
  std::vector<unsigned char> resident(pages);
  mincore(reinterpret_cast<void*>(low), pages * page, resident.data());
  std::size_t count = 0;
  for (const unsigned char r : resident) count += r & 1;
  return count;
}

// Touches 256 KiB of stack below the caller's frame, as a deep request would.
__attribute__((noinline)) void DeepCall() {
  volatile char deep[256 * 1024];
  for (std::size_t i = 0; i < sizeof(deep); i += 1024) deep[i] = 1;
}

TEST_CASE("ReleaseUnusedStack: pages of returned frames are given back, live ones kept") {
  std::size_t touched = 0, released = 0;
  int live_value = 0;
  std::thread worker([&] {
    const auto frame = reinterpret_cast<std::uintptr_t>(__builtin_frame_address(0));
    const std::uintptr_t below = frame - 64 * 1024;  // well under any frame still in use
    int live = 42;
    DeepCall();
    touched = ResidentStackPages(below);
    ReleaseUnusedStack();
    released = ResidentStackPages(below);
    live_value = live;  // this frame's data survived
  });
  worker.join();
  CHECK(touched >= 32);  // the deep call's 192 KiB below `below`, at 4 KiB pages
  CHECK(released == 0);
  CHECK(live_value == 42);
}

}  // namespace
}  // namespace llm_exporter::transport
