#include "meter/wire_fields.h"

#include <cmath>
#include <limits>
#include <string>

namespace llm_exporter::meter {
namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;

// A token count: a non-negative integer (an integral double is taken too); nullopt otherwise.
std::optional<uint64_t> Count(const element& object, std::string_view key) {
  element value;
  if (object.at_key(key).get(value) != simdjson::SUCCESS) return std::nullopt;
  switch (value.type()) {
    case element_type::UINT64:
      return value.get_uint64().value_unsafe();
    case element_type::INT64: {
      const int64_t n = value.get_int64().value_unsafe();
      if (n < 0) return std::nullopt;
      return static_cast<uint64_t>(n);
    }
    case element_type::DOUBLE: {
      const double d = value.get_double().value_unsafe();
      if (!(d >= 0) || d != std::floor(d) || d >= 18446744073709551616.0) return std::nullopt;
      return static_cast<uint64_t>(d);
    }
    default:
      return std::nullopt;
  }
}

uint64_t CountOrZero(const element& object, std::string_view key) {
  return Count(object, key).value_or(0);
}

// object.outer.inner as a count, 0 when any part is missing (the details objects may be null).
uint64_t NestedCount(const element& object, std::string_view outer, std::string_view inner) {
  element nested;
  if (object.at_key(outer).get(nested) != simdjson::SUCCESS || !nested.is_object()) return 0;
  return CountOrZero(nested, inner);
}

uint64_t SaturatingAdd(uint64_t a, uint64_t b) {
  return a > std::numeric_limits<uint64_t>::max() - b ? std::numeric_limits<uint64_t>::max()
                                                       : a + b;
}

// error.type, else error.code (a string, or an integer written out); "error" is the type of the
// Responses API's error event itself, not a kind of error.
std::string ErrorType(const element& error) {
  if (!error.is_object()) return {};
  const std::string_view type = StringField(error, "type");
  if (!type.empty() && type != "error") return std::string(type);
  element code;
  if (error.at_key("code").get(code) != simdjson::SUCCESS) return {};
  if (code.is_string()) return std::string(code.get_string().value_unsafe());
  if (code.is_int64()) return std::to_string(code.get_int64().value_unsafe());
  return {};
}

}  // namespace

std::string_view StringField(const element& object, std::string_view key) {
  element value;
  if (object.at_key(key).get(value) != simdjson::SUCCESS || !value.is_string()) return {};
  return value.get_string().value_unsafe();
}

bool ReadOpenAiUsage(const element& usage, Usage* out) {
  if (!usage.is_object()) return false;
  Usage read;
  read.known = true;
  element ignored;
  if (usage.at_key("prompt_tokens").get(ignored) == simdjson::SUCCESS ||
      usage.at_key("completion_tokens").get(ignored) == simdjson::SUCCESS) {
    read.input = CountOrZero(usage, "prompt_tokens");
    read.output = CountOrZero(usage, "completion_tokens");
    read.cached_input = NestedCount(usage, "prompt_tokens_details", "cached_tokens");
    read.reasoning = NestedCount(usage, "completion_tokens_details", "reasoning_tokens");
  } else {
    read.input = CountOrZero(usage, "input_tokens");
    read.output = CountOrZero(usage, "output_tokens");
    read.cached_input = NestedCount(usage, "input_tokens_details", "cached_tokens");
    read.reasoning = NestedCount(usage, "output_tokens_details", "reasoning_tokens");
  }
  *out = read;
  return true;
}

bool AnthropicUsage::Merge(const element& usage) {
  if (!usage.is_object()) return false;
  known_ = true;
  if (const auto n = Count(usage, "input_tokens")) input_ = *n;
  if (const auto n = Count(usage, "output_tokens")) output_ = *n;
  if (const auto n = Count(usage, "cache_creation_input_tokens")) cache_write_ = *n;
  if (const auto n = Count(usage, "cache_read_input_tokens")) cache_read_ = *n;
  return true;
}

Usage AnthropicUsage::ToUsage() const {
  Usage usage;
  usage.known = known_;
  usage.input = SaturatingAdd(SaturatingAdd(input_, cache_write_), cache_read_);
  usage.output = output_;
  usage.cached_input = cache_read_;
  usage.cache_write_input = cache_write_;
  return usage;
}

void ReadError(const element& root, bool named_error, Metered* metered) {
  if (!root.is_object()) {
    if (named_error) metered->error = true;
    return;
  }
  bool is_error = named_error;
  element error_object = root;
  element member;
  if (root.at_key("error").get(member) == simdjson::SUCCESS && !member.is_null()) {
    is_error = true;
    error_object = member;
  } else {
    const std::string_view type = StringField(root, "type");
    if (type == "error") {
      is_error = true;
    } else if (type == "response.failed") {
      is_error = true;
      element response;
      if (root.at_key("response").get(response) == simdjson::SUCCESS && response.is_object() &&
          response.at_key("error").get(member) == simdjson::SUCCESS) {
        error_object = member;
      }
    }
  }
  if (!is_error) return;
  metered->error = true;
  if (metered->error_type.empty()) metered->error_type = ErrorType(error_object);
}

void SetModel(std::string_view model, Metered* metered) {
  if (!model.empty() && model != metered->model) metered->model.assign(model);
}

}  // namespace llm_exporter::meter
