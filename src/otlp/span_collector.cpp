#include "otlp/span_collector.h"

#include <type_traits>

namespace llm_exporter::otlp {

void SpanCollector::Reset() {
  result_.body_error.clear();
  result_.spans.clear();
  result_.rejected = 0;
  result_.errors.clear();
  next_index_ = 0;
  attributes_.clear();
  events_.clear();
  resources_.clear();
  resource_ranges_.clear();
  pending_.clear();
}

void SpanCollector::SetBodyError(std::string message) {
  Reset();
  result_.body_error = std::move(message);
}

void SpanCollector::StartResource() {
  resource_ranges_.push_back(Range{attributes_.size(), attributes_.size()});
}

void SpanCollector::EndResource() {
  resource_ranges_.back().end = attributes_.size();
}

Span& SpanCollector::BeginSpan(std::size_t index) {
  current_ = Span{};
  current_.index = index;
  current_ranges_ = PendingSpan{};
  current_ranges_.attributes.begin = attributes_.size();
  current_ranges_.events.begin = events_.size();
  current_ranges_.resource = resource_ranges_.size() - 1;
  return current_;
}

void SpanCollector::CommitSpan() {
  current_ranges_.attributes.end = attributes_.size();
  current_ranges_.events.end = events_.size();
  result_.spans.push_back(current_);
  pending_.push_back(current_ranges_);
}

void SpanCollector::AbandonSpan() {
  attributes_.resize(current_ranges_.attributes.begin);
  events_.resize(current_ranges_.events.begin);
}

const DecodedSpans& SpanCollector::Finish() {
  if (!result_.ok()) return result_;
  resources_.resize(resource_ranges_.size());
  for (std::size_t r = 0; r < resources_.size(); ++r) {
    const Range& range = resource_ranges_[r];
    resources_[r].attributes = {attributes_.data() + range.begin, range.end - range.begin};
  }
  for (std::size_t i = 0; i < result_.spans.size(); ++i) {
    Span& span = result_.spans[i];
    const PendingSpan& p = pending_[i];
    span.attributes = {attributes_.data() + p.attributes.begin,
                       p.attributes.end - p.attributes.begin};
    span.events = {events_.data() + p.events.begin, p.events.end - p.events.begin};
    span.resource = &resources_[p.resource];
  }
  return result_;
}

std::size_t SpanCollector::retained_bytes() const {
  return attributes_.capacity() * sizeof(Attribute) + events_.capacity() * sizeof(SpanEvent) +
         resources_.capacity() * sizeof(Resource) + resource_ranges_.capacity() * sizeof(Range) +
         pending_.capacity() * sizeof(PendingSpan) + result_.spans.capacity() * sizeof(Span) +
         result_.errors.capacity() * sizeof(SpanError);
}

void SpanCollector::ReleaseIfOver(std::size_t max_bytes) {
  const auto release = [max_bytes](auto& buffer) {
    using Buffer = std::decay_t<decltype(buffer)>;
    if (buffer.capacity() * sizeof(typename Buffer::value_type) > max_bytes) Buffer().swap(buffer);
  };
  release(attributes_);
  release(events_);
  release(resources_);
  release(resource_ranges_);
  release(pending_);
  release(result_.spans);
  release(result_.errors);
}

}  // namespace llm_exporter::otlp
