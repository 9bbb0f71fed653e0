#include "transport/http/buffer_pool.h"

#include <doctest/doctest.h>

#include <string>

namespace llm_exporter::transport {
namespace {

TEST_CASE("BufferPool: a returned buffer is lent again, empty and with its capacity") {
  BufferPool pool(2, 1 << 20);
  std::string buffer = pool.Take();
  buffer.assign(100000, 'x');
  const std::size_t capacity = buffer.capacity();
  pool.Return(std::move(buffer));
  CHECK(pool.idle_bytes() == capacity);
  const std::string again = pool.Take();
  CHECK(again.empty());
  CHECK(again.capacity() == capacity);
  CHECK(pool.idle_bytes() == 0);
}

TEST_CASE("BufferPool: keeps at most max_idle buffers and none above max_idle_bytes") {
  BufferPool pool(2, 1 << 20);
  for (int i = 0; i < 3; ++i) {
    std::string buffer;
    buffer.reserve(1000);
    pool.Return(std::move(buffer));
  }
  const std::size_t two = pool.idle_bytes();
  CHECK(two >= 2000);
  CHECK(two < 3000);

  std::string big;
  big.reserve((1 << 20) + 1);
  pool.Return(std::move(big));
  CHECK(pool.idle_bytes() == two);  // freed, not kept
}

TEST_CASE("PooledBuffer: returns its buffer at the end of the scope") {
  BufferPool pool(4, 1 << 20);
  {
    PooledBuffer buffer(pool);
    buffer->assign(5000, 'y');
    CHECK((*buffer).size() == 5000);
    CHECK(pool.idle_bytes() == 0);
  }
  CHECK(pool.idle_bytes() >= 5000);
}

}  // namespace
}  // namespace llm_exporter::transport
