#include "meter/response_reader.h"

#include <doctest/doctest.h>

namespace llm_exporter::meter {
namespace {

TEST_CASE("ReadResponse: an OpenAI chat completion") {
  const Metered m = ReadResponse(ApiKind::kOpenAi, Operation::kChat, R"({
  "id": "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG",
  "object": "chat.completion",
  "created": 1741570283,
  "model": "gpt-4o-2024-08-06",
  "choices": [
    {
      "index": 0,
      "message": {"role": "assistant", "content": "The image shows a wooden boardwalk.",
                  "refusal": null, "annotations": []},
      "logprobs": null,
      "finish_reason": "stop"
    }
  ],
  "usage": {
    "prompt_tokens": 1117,
    "completion_tokens": 46,
    "total_tokens": 1163,
    "prompt_tokens_details": {"cached_tokens": 1024, "audio_tokens": 0},
    "completion_tokens_details": {"reasoning_tokens": 12, "audio_tokens": 0,
                                  "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}
  },
  "service_tier": "default",
  "system_fingerprint": "fp_fc9f1d7035"
})");
  CHECK(m.model == "gpt-4o-2024-08-06");
  CHECK(m.usage == Usage{.input = 1117, .output = 46, .cached_input = 1024,
                         .cache_write_input = 0, .reasoning = 12, .known = true});
  CHECK_FALSE(m.error);
  CHECK(m.error_type.empty());
}

TEST_CASE("ReadResponse: details that are null or missing count 0") {
  const Metered m = ReadResponse(
      ApiKind::kOpenAi, Operation::kChat,
      R"({"model":"m","usage":{"prompt_tokens":10,"completion_tokens":3,"prompt_tokens_details":null}})");
  CHECK(m.usage == Usage{.input = 10, .output = 3, .known = true});
}

TEST_CASE("ReadResponse: a legacy completion") {
  const Metered m = ReadResponse(ApiKind::kOpenAi, Operation::kCompletion, R"({
  "id": "cmpl-uqkvlQyYK7bGYrRHQ0eXlWi7",
  "object": "text_completion",
  "created": 1589478378,
  "model": "gpt-3.5-turbo-instruct",
  "system_fingerprint": "fp_44709d6fcb",
  "choices": [{"text": "\n\nThis is indeed a test", "index": 0, "logprobs": null,
               "finish_reason": "length"}],
  "usage": {"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12}
})");
  CHECK(m.model == "gpt-3.5-turbo-instruct");
  CHECK(m.usage == Usage{.input = 5, .output = 7, .known = true});
}

TEST_CASE("ReadResponse: a Responses API object") {
  const Metered m = ReadResponse(ApiKind::kOpenAi, Operation::kResponses, R"({
  "id": "resp_67ccd2bed1ec8190b14f964abc0542670bb6a6b452d3795b",
  "object": "response",
  "created_at": 1741476542,
  "status": "completed",
  "error": null,
  "incomplete_details": null,
  "instructions": null,
  "max_output_tokens": null,
  "model": "gpt-4.1-2025-04-14",
  "output": [{"type": "message", "id": "msg_67ccd2bf17f0819081ff3bb2cf6508e6",
              "status": "completed", "role": "assistant",
              "content": [{"type": "output_text", "text": "In a peaceful grove...",
                           "annotations": []}]}],
  "parallel_tool_calls": true,
  "previous_response_id": null,
  "reasoning": {"effort": null, "summary": null},
  "store": true,
  "temperature": 1.0,
  "text": {"format": {"type": "text"}},
  "tool_choice": "auto",
  "tools": [],
  "top_p": 1.0,
  "truncation": "disabled",
  "usage": {"input_tokens": 36, "input_tokens_details": {"cached_tokens": 6},
            "output_tokens": 87, "output_tokens_details": {"reasoning_tokens": 20},
            "total_tokens": 123},
  "user": null,
  "metadata": {}
})");
  CHECK(m.model == "gpt-4.1-2025-04-14");
  CHECK(m.usage == Usage{.input = 36, .output = 87, .cached_input = 6, .reasoning = 20,
                         .known = true});
  CHECK_FALSE(m.error);  // "error": null is no error
}

TEST_CASE("ReadResponse: a failed Responses object is an error with its code") {
  const Metered m = ReadResponse(
      ApiKind::kOpenAi, Operation::kResponses,
      R"({"id":"resp_1","object":"response","status":"failed","model":"gpt-4.1",)"
      R"("error":{"code":"server_error","message":"The model failed."},"usage":null})");
  CHECK(m.error);
  CHECK(m.error_type == "server_error");
  CHECK_FALSE(m.usage.known);
}

TEST_CASE("ReadResponse: embeddings count input only") {
  const Metered m = ReadResponse(ApiKind::kOpenAi, Operation::kEmbeddings, R"({
  "object": "list",
  "data": [{"object": "embedding", "index": 0,
            "embedding": [0.0023064255, -0.009327292, -0.0028842222]}],
  "model": "text-embedding-3-small",
  "usage": {"prompt_tokens": 8, "total_tokens": 8}
})");
  CHECK(m.model == "text-embedding-3-small");
  CHECK(m.usage == Usage{.input = 8, .output = 0, .known = true});
}

TEST_CASE("ReadResponse: an Anthropic message: cache reads and writes are part of input") {
  const Metered m = ReadResponse(ApiKind::kAnthropic, Operation::kMessages, R"({
  "id": "msg_01XFDUDYJgAACzvnptvVoYEL",
  "type": "message",
  "role": "assistant",
  "model": "claude-3-5-sonnet-20241022",
  "content": [{"type": "text", "text": "Hello!"}],
  "stop_reason": "end_turn",
  "stop_sequence": null,
  "usage": {"input_tokens": 12, "cache_creation_input_tokens": 100,
            "cache_read_input_tokens": 2000, "output_tokens": 6}
})");
  CHECK(m.model == "claude-3-5-sonnet-20241022");
  CHECK(m.usage == Usage{.input = 2112, .output = 6, .cached_input = 2000,
                         .cache_write_input = 100, .known = true});
  CHECK_FALSE(m.error);
}

TEST_CASE("ReadResponse: Anthropic cache fields null or absent count 0") {
  const Metered m = ReadResponse(
      ApiKind::kAnthropic, Operation::kMessages,
      R"({"type":"message","model":"claude-3-haiku-20240307","usage":{"input_tokens":9,)"
      R"("cache_creation_input_tokens":null,"output_tokens":4}})");
  CHECK(m.usage == Usage{.input = 9, .output = 4, .known = true});
}

TEST_CASE("ReadResponse: error bodies") {
  Metered m = ReadResponse(ApiKind::kAnthropic, Operation::kMessages,
                           R"({"type":"error","error":{"type":"overloaded_error",)"
                           R"("message":"Overloaded"}})");
  CHECK(m.error);
  CHECK(m.error_type == "overloaded_error");
  CHECK_FALSE(m.usage.known);
  m = ReadResponse(ApiKind::kOpenAi, Operation::kChat,
                   R"({"error":{"message":"Rate limit reached for gpt-4o","type":"requests",)"
                   R"("param":null,"code":"rate_limit_exceeded"}})");
  CHECK(m.error);
  CHECK(m.error_type == "requests");
  m = ReadResponse(ApiKind::kOpenAi, Operation::kChat,
                   R"({"error":{"message":"x","type":null,"code":"invalid_api_key"}})");
  CHECK(m.error_type == "invalid_api_key");
  m = ReadResponse(ApiKind::kOpenAi, Operation::kChat, R"({"error":{"message":"x","code":500}})");
  CHECK(m.error_type == "500");
  m = ReadResponse(ApiKind::kOpenAi, Operation::kChat, R"({"error":"Internal error"})");
  CHECK(m.error);
  CHECK(m.error_type.empty());
}

TEST_CASE("ReadResponse: counts that are not non-negative integers count 0") {
  const Metered m = ReadResponse(
      ApiKind::kOpenAi, Operation::kChat,
      R"({"usage":{"prompt_tokens":-5,"completion_tokens":"7","prompt_tokens_details":)"
      R"({"cached_tokens":2.5},"completion_tokens_details":{"reasoning_tokens":3.0}}})");
  CHECK(m.usage == Usage{.input = 0, .output = 0, .cached_input = 0, .reasoning = 3,
                         .known = true});
  CHECK(m.model.empty());
}

TEST_CASE("ReadResponse: a huge Anthropic sum saturates instead of wrapping") {
  const Metered m = ReadResponse(
      ApiKind::kAnthropic, Operation::kMessages,
      R"({"usage":{"input_tokens":18446744073709551615,"cache_read_input_tokens":5}})");
  CHECK(m.usage.input == 18446744073709551615u);
  CHECK(m.usage.cached_input == 5);
}

TEST_CASE("ReadResponse: not JSON, or no usage: usage unknown, nothing thrown") {
  for (const char* body : {"", "<html>502 Bad Gateway</html>", "[1]", R"({"model":"m")",
                           "{\"model\":\"m\"}"}) {
    CAPTURE(body);
    const Metered m = ReadResponse(ApiKind::kOpenAi, Operation::kChat, body);
    CHECK_FALSE(m.usage.known);
    CHECK_FALSE(m.error);
  }
}

}  // namespace
}  // namespace llm_exporter::meter
