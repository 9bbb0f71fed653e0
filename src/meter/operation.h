// What a proxied request is: which provider API it speaks and which operation it calls, read from
// the method and path alone, so that the proxy knows before the body whether to meter it.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace llm_exporter::meter {

// The wire format an upstream speaks (the proxy config's `kind`).
enum class ApiKind : uint8_t { kOpenAi, kAnthropic };

// kOther is not an LLM call: it is forwarded and not metered (GET /v1/models, files, batches,
// count_tokens, ...).
enum class Operation : uint8_t { kOther, kChat, kCompletion, kResponses, kEmbeddings, kMessages };
inline constexpr std::size_t kOperationCount = 6;
inline constexpr std::array<std::string_view, kOperationCount> kOperationNames = {
    "other", "chat", "completion", "responses", "embeddings", "messages"};

// `path` is what follows /proxy/<name> (with or without its leading '/'; a query, if one is left,
// is ignored). Only POST creates a call. The match is on the path's last segments, so prefixes
// ("/v1", Azure's "/openai/deployments/<d>") do not matter:
//   openai:    .../chat/completions -> kChat, .../completions -> kCompletion,
//              .../responses -> kResponses, .../embeddings -> kEmbeddings
//   anthropic: .../messages -> kMessages (not .../messages/count_tokens, .../messages/batches)
// One trailing '/' is allowed. Thread-safe (pure).
Operation ClassifyRequest(ApiKind kind, std::string_view method, std::string_view path);

}  // namespace llm_exporter::meter
