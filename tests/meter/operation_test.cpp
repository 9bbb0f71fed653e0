#include "meter/operation.h"

#include <doctest/doctest.h>

namespace llm_exporter::meter {
namespace {

TEST_CASE("ClassifyRequest: OpenAI paths, with and without a prefix") {
  const ApiKind k = ApiKind::kOpenAi;
  CHECK(ClassifyRequest(k, "POST", "/v1/chat/completions") == Operation::kChat);
  CHECK(ClassifyRequest(k, "POST", "v1/chat/completions") == Operation::kChat);
  CHECK(ClassifyRequest(k, "POST", "/chat/completions") == Operation::kChat);
  CHECK(ClassifyRequest(k, "POST", "/openai/deployments/gpt4o/chat/completions") ==
        Operation::kChat);
  CHECK(ClassifyRequest(k, "POST", "/v1/completions") == Operation::kCompletion);
  CHECK(ClassifyRequest(k, "POST", "/v1/responses") == Operation::kResponses);
  CHECK(ClassifyRequest(k, "POST", "/v1/embeddings") == Operation::kEmbeddings);
  CHECK(ClassifyRequest(k, "POST", "/v1/chat/completions/") == Operation::kChat);
  CHECK(ClassifyRequest(k, "POST", "/v1/embeddings?api-version=2024-02-01") ==
        Operation::kEmbeddings);
}

TEST_CASE("ClassifyRequest: what is not an LLM call is kOther") {
  const ApiKind k = ApiKind::kOpenAi;
  CHECK(ClassifyRequest(k, "GET", "/v1/models") == Operation::kOther);
  CHECK(ClassifyRequest(k, "GET", "/v1/chat/completions") == Operation::kOther);
  CHECK(ClassifyRequest(k, "post", "/v1/chat/completions") == Operation::kOther);
  CHECK(ClassifyRequest(k, "GET", "/v1/responses/resp_123") == Operation::kOther);
  CHECK(ClassifyRequest(k, "POST", "/v1/responses/resp_123/cancel") == Operation::kOther);
  CHECK(ClassifyRequest(k, "POST", "/v1/files") == Operation::kOther);
  CHECK(ClassifyRequest(k, "POST", "/v1/mycompletions") == Operation::kOther);
  CHECK(ClassifyRequest(k, "POST", "/v1/chat/completions/extra") == Operation::kOther);
  CHECK(ClassifyRequest(k, "POST", "/v1/messages") == Operation::kOther);
  CHECK(ClassifyRequest(k, "POST", "") == Operation::kOther);
  CHECK(ClassifyRequest(k, "POST", "/") == Operation::kOther);
}

TEST_CASE("ClassifyRequest: Anthropic messages, not count_tokens or batches") {
  const ApiKind k = ApiKind::kAnthropic;
  CHECK(ClassifyRequest(k, "POST", "/v1/messages") == Operation::kMessages);
  CHECK(ClassifyRequest(k, "POST", "v1/messages") == Operation::kMessages);
  CHECK(ClassifyRequest(k, "POST", "/v1/messages/") == Operation::kMessages);
  CHECK(ClassifyRequest(k, "POST", "/v1/messages/count_tokens") == Operation::kOther);
  CHECK(ClassifyRequest(k, "POST", "/v1/messages/batches") == Operation::kOther);
  CHECK(ClassifyRequest(k, "GET", "/v1/messages/batches/msgbatch_01") == Operation::kOther);
  CHECK(ClassifyRequest(k, "GET", "/v1/messages") == Operation::kOther);
  CHECK(ClassifyRequest(k, "POST", "/v1/chat/completions") == Operation::kOther);
  CHECK(ClassifyRequest(k, "POST", "/v1/complete") == Operation::kOther);
}

TEST_CASE("kOperationNames follow the enum") {
  CHECK(kOperationNames[static_cast<std::size_t>(Operation::kOther)] == "other");
  CHECK(kOperationNames[static_cast<std::size_t>(Operation::kMessages)] == "messages");
}

}  // namespace
}  // namespace llm_exporter::meter
