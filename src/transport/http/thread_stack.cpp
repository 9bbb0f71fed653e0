#include "transport/http/thread_stack.h"

#include <pthread.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>

namespace llm_exporter::transport {
namespace {

// Below the current frame, room for the frames of madvise() itself and anything a sanitizer
// adds around it: releasing a page that a live frame uses would lose it.
constexpr std::uintptr_t kMargin = 4 * 1024;

// The lowest address of the calling thread's stack, or 0 when it is not known.
std::uintptr_t StackLow() {
  thread_local std::uintptr_t low = 0;
  thread_local bool known = false;
  if (!known) {
    known = true;
    pthread_attr_t attr;
    if (pthread_getattr_np(pthread_self(), &attr) == 0) {
      void* address = nullptr;
      std::size_t size = 0;
      if (pthread_attr_getstack(&attr, &address, &size) == 0) {
        low = reinterpret_cast<std::uintptr_t>(address);
      }
      pthread_attr_destroy(&attr);
    }
  }
  return low;
}

}  // namespace

void ReleaseUnusedStack() {
  const std::uintptr_t low = StackLow();
  if (low == 0) return;
  const std::uintptr_t page = static_cast<std::uintptr_t>(sysconf(_SC_PAGESIZE));
  const auto frame = reinterpret_cast<std::uintptr_t>(__builtin_frame_address(0));
  if (frame < low + kMargin + page) return;
  const std::uintptr_t start = (low + page - 1) & ~(page - 1);
  const std::uintptr_t end = (frame - kMargin) & ~(page - 1);
  if (end <= start) return;
  madvise(reinterpret_cast<void*>(start), end - start, MADV_DONTNEED);
}

}  // namespace llm_exporter::transport
