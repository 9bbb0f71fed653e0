#include "decode/event_decoder.h"

#include <algorithm>

#include <fmt/format.h>
#include <simdjson.h>

#include <string>
#include <type_traits>
#include <variant>

#include "decode/event_object.h"
#include "decode/json_text.h"

namespace llm_exporter::decode {

// Transports pad what they hand over by kIngestPadding; simdjson must need no more.
static_assert(kPadding >= simdjson::SIMDJSON_PADDING);
namespace {

constexpr std::string_view kByteOrderMark = "\xEF\xBB\xBF";
// Buffers above this size are freed after the body that grew them: simdjson's parser keeps about
// 14 bytes per byte of the largest document it has seen, and every pooled decoder would keep it.
constexpr std::size_t kRetainedBytes = 1 << 20;
constexpr std::string_view kExpectedForms =
    "send a JSON object, a JSON array of objects, or NDJSON (one object a line)";

bool IsTextError(simdjson::error_code code) {
  return code == simdjson::UTF8_ERROR || code == simdjson::STRING_ERROR;
}

bool IsNumberError(simdjson::error_code code) {
  return code == simdjson::NUMBER_ERROR || code == simdjson::NUMBER_OUT_OF_RANGE;
}

// Whether `token` is spelled like a JSON number (RFC 8259: -?(0|[1-9][0-9]*)(.[0-9]+)?
// ([eE][+-]?[0-9]+)?), so that simdjson refusing it means its value does not fit.
bool IsJsonNumberSyntax(std::string_view token) {
  std::size_t i = 0;
  const auto digits = [&] {
    const std::size_t start = i;
    while (i < token.size() && token[i] >= '0' && token[i] <= '9') ++i;
    return i > start;
  };
  if (i < token.size() && token[i] == '-') ++i;
  if (i < token.size() && token[i] == '0') {
    ++i;
  } else if (!digits()) {
    return false;
  }
  if (i < token.size() && token[i] == '.') {
    ++i;
    if (!digits()) return false;
  }
  if (i < token.size() && (token[i] == 'e' || token[i] == 'E')) {
    ++i;
    if (i < token.size() && (token[i] == '+' || token[i] == '-')) ++i;
    if (!digits()) return false;
  }
  return i == token.size();
}

}  // namespace

struct EventDecoder::Impl {
  explicit Impl(DecodeLimits l) : limits(l) {}

  DecodeLimits limits;
  simdjson::dom::parser parser;
  std::string padded_copy;   // a body that came without room for padding
  std::vector<Event> pending;
  std::vector<std::string_view> elements;
  std::vector<std::size_t> valid_elements;

  DecodeResult* result = nullptr;
  EventSink* sink = nullptr;

  void Reject(EventError error) {
    ++result->rejected;
    ++result->rejected_by_reason[static_cast<std::size_t>(error.reason)];
    if (result->errors.size() < limits.max_reported_errors) {
      result->errors.push_back(std::move(error));
    }
  }

  // Why event `index`, whose JSON text is `text`, could not be parsed, as a rejection.
  EventError ParseFailure(std::size_t index, simdjson::error_code code, std::string_view text) {
    EventError error;
    error.index = index;
    switch (code) {
      case simdjson::NUMBER_ERROR:
      case simdjson::NUMBER_OUT_OF_RANGE:
        return NumberFailure(index, text);
      case simdjson::DEPTH_ERROR:
        error.reason = RejectReason::kInvalidJson;
        error.message = fmt::format("event {}: nested deeper than {} levels", index,
                                    simdjson::DEFAULT_MAX_DEPTH);
        break;
      case simdjson::UTF8_ERROR:
      case simdjson::STRING_ERROR:
        error.reason = RejectReason::kInvalidUtf8;
        error.message = fmt::format("event {}: holds text that is not valid UTF-8", index);
        break;
      default:
        error.reason = RejectReason::kInvalidJson;
        error.message =
            fmt::format("event {}: not valid JSON: {}", index, simdjson::error_message(code));
        break;
    }
    return error;
  }

  // simdjson refused a number somewhere in `text` (1e400, 2^64, -Infinity, 01): find the first
  // number it refuses and name the field that holds it. `text` lies inside a padded buffer, so
  // each token may be parsed in place.
  EventError NumberFailure(std::size_t index, std::string_view text) {
    EventError error;
    error.index = index;
    if (text.empty() || text.front() != '{') {
      error.reason = RejectReason::kNotAnObject;
      error.message = fmt::format("event {}: must be a JSON object", index);
      return error;
    }
    error.reason = RejectReason::kInvalidValue;
    NumberToken found;
    const bool located = FindNumberToken(
        text,
        [&](std::string_view token) {
          return IsNumberError(parser.parse(token.data(), token.size(), false).error());
        },
        &found);
    if (!located) {
      error.message = fmt::format(
          "event {}: a number is out of range (counts must fit in 64 bits, other numbers in a "
          "double)", index);
      return error;
    }
    const std::string token = ShortForMessage(found.token);
    const std::string field = ShortForMessage(found.field);
    error.field = field;
    const std::string_view problem =
        IsJsonNumberSyntax(found.token) ? "is out of range" : "is not a valid JSON number";
    if (found.field.empty()) {
      error.message = fmt::format("event {}: a number {}: {}", index, problem, token);
    } else if (found.direct) {
      error.message = fmt::format("event {}: {} {}: {}", index, field, problem, token);
    } else {
      error.message = fmt::format("event {}: {} holds a number that {}: {}", index, field,
                                  problem, token);
    }
    return error;
  }

  void Apply(const Event& event) {
    ++result->accepted;
    if (const auto* call = std::get_if<LlmCall>(&event)) {
      sink->OnLlmCall(*call);
    } else {
      sink->OnQualityScore(std::get<QualityScore>(event));
    }
  }

  // Validates a parsed element as event `index`; true with *event set, else the rejection is
  // recorded.
  bool Validate(const simdjson::dom::element& element, std::size_t index, bool sanitized,
                Event* event) {
    if (!element.is_object()) {
      Reject({index, "", RejectReason::kNotAnObject,
              fmt::format("event {}: must be a JSON object", index)});
      return false;
    }
    EventError error;
    if (DecodeEventObject(element.get_object().value_unsafe(),
                          {index, &limits, sanitized}, event, &error)) {
      return true;
    }
    Reject(std::move(error));
    return false;
  }

  // `text` is trimmed, starts with '{' or '[', and is followed by kPadding readable bytes.
  void DecodeText(std::string_view text, bool sanitized) {
    if (text.front() == '{' && LooksLikeNdjson(text)) return DecodeNdjson(text, sanitized);
    simdjson::dom::element root;
    const simdjson::error_code code = parser.parse(text.data(), text.size(), false).get(root);
    if (IsTextError(code) && !sanitized) {
      SanitizeUtf8(text, &sanitized_body_);
      sanitized_body_.reserve(sanitized_body_.size() + kPadding);
      return DecodeText(sanitized_body_, true);
    }
    if (code == simdjson::SUCCESS) return DecodeDocument(root, sanitized);
    if (text.front() == '[') return DecodeArrayElementwise(text, code, sanitized);
    EventError error = ParseFailure(0, code, text);
    if (error.reason == RejectReason::kInvalidJson) {
      result->body_error = fmt::format("body is not valid JSON ({}): {}", kExpectedForms,
                                       simdjson::error_message(code));
      return;
    }
    Reject(std::move(error));
  }

  // A whole object or array parsed cleanly: validate every event, then hand them all on.
  void DecodeDocument(const simdjson::dom::element& root, bool sanitized) {
    pending.clear();
    Event event;
    if (root.is_object()) {
      if (Validate(root, 0, sanitized, &event)) pending.push_back(event);
    } else {
      std::size_t index = 0;
      const simdjson::dom::array array = root.get_array().value_unsafe();
      for (simdjson::dom::element element : array) {
        if (Validate(element, index++, sanitized, &event)) pending.push_back(event);
      }
    }
    for (const Event& e : pending) Apply(e);
  }

  // An array whose whole parse failed: if its elements can still be framed, parse them one by
  // one so that one bad event does not take the others down. Two passes, so that nothing is
  // applied when the framing itself turns out broken.
  void DecodeArrayElementwise(std::string_view text, simdjson::error_code whole_error,
                              bool sanitized) {
    if (!SplitArrayElements(text, &elements)) {
      result->body_error = fmt::format("body is not valid JSON ({}): {}", kExpectedForms,
                                       simdjson::error_message(whole_error));
      return;
    }
    valid_elements.clear();
    Event event;
    for (std::size_t i = 0; i < elements.size(); ++i) {
      simdjson::dom::element element;
      const simdjson::error_code code =
          elements[i].empty()
              ? simdjson::TAPE_ERROR
              : parser.parse(elements[i].data(), elements[i].size(), false).get(element);
      if (code != simdjson::SUCCESS) {
        Reject(ParseFailure(i, code, elements[i]));
      } else if (Validate(element, i, sanitized, &event)) {
        valid_elements.push_back(i);
      }
    }
    for (std::size_t i : valid_elements) {
      simdjson::dom::element element = parser.parse(elements[i].data(), elements[i].size(), false)
                                           .value_unsafe();
      EventError unused;  // validated in the first pass
      DecodeEventObject(element.get_object().value_unsafe(), {i, &limits, sanitized}, &event,
                        &unused);
      Apply(event);
    }
  }

  // One object a line; blank lines are skipped; each line stands alone.
  void DecodeNdjson(std::string_view text, bool sanitized, bool lines_only = false) {
    std::size_t index = 0;
    std::size_t parsed_lines = 0;
    std::string first_error;
    Event event;
    std::size_t start = 0;
    while (start < text.size()) {
      std::size_t end = text.find('\n', start);
      if (end == std::string_view::npos) end = text.size();
      const std::string_view line = TrimJsonSpace(text.substr(start, end - start));
      start = end + 1;
      if (line.empty()) continue;
      const std::size_t this_index = index++;
      bool line_sanitized = sanitized;
      simdjson::dom::element element;
      simdjson::error_code code = parser.parse(line.data(), line.size(), false).get(element);
      if (IsTextError(code) && !sanitized) {
        SanitizeUtf8(line, &sanitized_line_);
        sanitized_line_.reserve(sanitized_line_.size() + kPadding);
        line_sanitized = true;
        code = parser.parse(sanitized_line_.data(), sanitized_line_.size(), false).get(element);
      }
      if (code != simdjson::SUCCESS) {
        EventError error = ParseFailure(
            this_index, code, line_sanitized ? std::string_view(sanitized_line_) : line);
        if (first_error.empty()) first_error = error.message;
        Reject(std::move(error));
        continue;
      }
      ++parsed_lines;
      if (Validate(element, this_index, line_sanitized, &event)) Apply(event);
    }
    if (parsed_lines == 0 && !lines_only) {
      // Nothing was applied: refuse the body as a whole instead.
      *result = DecodeResult{};
      result->body_error =
          fmt::format("body is neither JSON nor NDJSON ({}): {}", kExpectedForms, first_error);
    }
  }

  // Frees what one rare large body grew, so that memory is bounded by the bodies in flight.
  void ReleaseLargeBuffers() {
    if (parser.capacity() > kRetainedBytes) parser = simdjson::dom::parser{};
    const auto release = [](auto& buffer, std::size_t element_bytes) {
      if (buffer.capacity() * element_bytes > kRetainedBytes) {
        std::decay_t<decltype(buffer)>().swap(buffer);
      }
    };
    release(padded_copy, 1);
    release(sanitized_body_, 1);
    release(sanitized_line_, 1);
    release(elements, sizeof(std::string_view));
    release(valid_elements, sizeof(std::size_t));
    release(pending, sizeof(Event));
  }

 private:
  std::string sanitized_body_;
  std::string sanitized_line_;
};

EventDecoder::EventDecoder(DecodeLimits limits) : impl_(std::make_unique<Impl>(limits)) {}
EventDecoder::~EventDecoder() = default;

DecodeResult EventDecoder::Decode(std::string_view body, std::size_t readable, EventSink& sink) {
  DecodeResult result;
  impl_->result = &result;
  impl_->sink = &sink;
  std::string_view text = body;
  if (text.starts_with(kByteOrderMark)) text.remove_prefix(kByteOrderMark.size());
  text = TrimJsonSpace(text);
  if (text.empty()) {
    result.body_error = fmt::format("empty body: {}", kExpectedForms);
    return result;
  }
  if (text.front() != '{' && text.front() != '[') {
    result.body_error = fmt::format("body is not JSON: {}", kExpectedForms);
    return result;
  }
  const std::size_t offset = static_cast<std::size_t>(text.data() - body.data());
  if (readable < offset + text.size() + kPadding) {
    impl_->padded_copy.reserve(text.size() + kPadding);
    impl_->padded_copy.assign(text);
    text = impl_->padded_copy;
  }
  impl_->DecodeText(text, /*sanitized=*/false);
  impl_->ReleaseLargeBuffers();
  return result;
}

std::size_t EventDecoder::capacity() const {
  return std::max(impl_->parser.capacity(), impl_->padded_copy.capacity());
}

DecodeResult EventDecoder::DecodeLines(std::string_view lines, std::size_t readable,
                                       EventSink& sink) {
  DecodeResult result;
  impl_->result = &result;
  impl_->sink = &sink;
  if (readable < lines.size() + kPadding) {
    impl_->padded_copy.reserve(lines.size() + kPadding);
    impl_->padded_copy.assign(lines);
    lines = impl_->padded_copy;
  }
  impl_->DecodeNdjson(lines, /*sanitized=*/false, /*lines_only=*/true);
  impl_->ReleaseLargeBuffers();
  return result;
}

}  // namespace llm_exporter::decode
