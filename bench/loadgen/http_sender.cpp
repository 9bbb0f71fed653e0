#include "loadgen/http_sender.h"

#include <algorithm>
#include <atomic>
#include <charconv>

#include "loadgen/http_client.h"
#include "loadgen/parallel_connections.h"

namespace llm_exporter::bench {
namespace {

// The "accepted" count of an /v1/events answer ({"accepted":N,"rejected":M,...}), or -1.
int64_t AcceptedIn(std::string_view body) {
  constexpr std::string_view kKey = "\"accepted\":";
  const std::size_t at = body.find(kKey);
  if (at == std::string_view::npos) return -1;
  int64_t value = -1;
  const char* first = body.data() + at + kKey.size();
  std::from_chars(first, body.data() + body.size(), value);
  return value;
}

}  // namespace

HttpSender::HttpSender(const EventMix& mix, HttpLoadOptions options)
    : mix_(mix), options_(std::move(options)) {
  options_.batch = std::max<std::size_t>(options_.batch, 1);
  options_.connections = std::max<std::size_t>(options_.connections, 1);
  content_type_ = options_.format == BodyFormat::kNdjson && options_.batch > 1
                      ? "application/x-ndjson"
                      : "application/json";
  if (mix_.size() % options_.batch == 0 && options_.first % options_.batch == 0) {
    for (std::size_t first = 0; first < mix_.size(); first += options_.batch) {
      bodies_.push_back(options_.batch == 1 ? mix_.at(first).json
                                            : mix_.Body(first, options_.batch, options_.format));
    }
  }
}

std::string_view HttpSender::BodyOf(uint64_t b, std::string* scratch) const {
  const uint64_t offset = b * options_.batch;
  const uint64_t count = std::min<uint64_t>(options_.batch, options_.events - offset);
  const uint64_t first = options_.first + offset;
  if (count == options_.batch && !bodies_.empty()) {
    return bodies_[(first % mix_.size()) / options_.batch];
  }
  if (count == 1) return mix_.at(first).json;
  *scratch = mix_.Body(first, static_cast<std::size_t>(count), options_.format);
  return *scratch;
}

SendReport HttpSender::Run() {
  const uint64_t batches = (options_.events + options_.batch - 1) / options_.batch;
  return RunConnections(options_.connections, [&](std::size_t c, const std::atomic<bool>& failed) {
    HttpClient client(options_.host, options_.port, options_.quick_ack);
    HttpResponse response;
    std::string scratch;
    std::string error;
    SendReport mine;
    for (uint64_t b = c; b < batches && !failed.load(std::memory_order_relaxed);
         b += options_.connections) {
      const std::string_view body = BodyOf(b, &scratch);
      const uint64_t count =
          std::min<uint64_t>(options_.batch, options_.events - b * options_.batch);
      if (!client.Post(options_.path, content_type_, body, &response, &error)) {
        mine.error = "POST " + options_.path + ": " + error;
        break;
      }
      if (response.status != 200) {
        mine.error = "POST " + options_.path + " answered " + std::to_string(response.status) +
                     ": " + response.body.substr(0, 300);
        break;
      }
      const int64_t accepted = AcceptedIn(response.body);
      mine.events += count;
      mine.acknowledged += accepted > 0 ? static_cast<uint64_t>(accepted) : 0;
      if (accepted != static_cast<int64_t>(count)) {
        mine.error = "the agent accepted " + std::to_string(accepted) + " of " +
                     std::to_string(count) + " events: " + response.body.substr(0, 300);
        break;
      }
    }
    mine.messages = client.requests();
    mine.connects = client.connects();
    return mine;
  });
}

}  // namespace llm_exporter::bench
