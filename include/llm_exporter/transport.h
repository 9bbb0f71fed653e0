// The ways events reach the agent, and the reasons an event is refused. Both are label values of
// the agent's own metrics, so every combination is known up front.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace llm_exporter {

enum class Transport : uint8_t { kHttp, kUnix, kUnixgram, kUdp };
inline constexpr std::size_t kTransportCount = 4;
inline constexpr std::array<std::string_view, kTransportCount> kTransportNames = {
    "http", "unix", "unixgram", "udp"};

enum class RejectReason : uint8_t {
  kInvalidJson,
  kNotAnObject,
  kUnknownType,
  kMissingField,
  kWrongType,
  kInvalidValue,
  kDuplicateField,
  kInvalidUtf8,
  kLabelTooLong,
  kTooLarge,  // a body, line or datagram over its size limit
};
inline constexpr std::size_t kRejectReasonCount = 10;
inline constexpr std::array<std::string_view, kRejectReasonCount> kRejectReasonNames = {
    "invalid_json",    "not_an_object", "unknown_type", "missing_field", "wrong_type",
    "invalid_value",   "duplicate_field", "invalid_utf8", "label_too_long", "too_large"};

inline std::string_view TransportName(Transport t) {
  return kTransportNames[static_cast<std::size_t>(t)];
}
inline std::string_view RejectReasonName(RejectReason r) {
  return kRejectReasonNames[static_cast<std::size_t>(r)];
}

}  // namespace llm_exporter
