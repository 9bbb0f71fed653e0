// The interface between decoding and everything after it: a decoder hands each valid event to a
// sink. Implementations say in their own comments whether they are thread-safe.
#pragma once

#include "llm_exporter/event.h"

namespace llm_exporter {

class EventSink {
 public:
  virtual ~EventSink() = default;
  virtual void OnLlmCall(const LlmCall& call) = 0;
  virtual void OnQualityScore(const QualityScore& score) = 0;
};

}  // namespace llm_exporter
