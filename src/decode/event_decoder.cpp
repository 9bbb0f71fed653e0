#include "decode/event_decoder.h"

#include <fmt/format.h>
#include <simdjson.h>

#include <variant>

#include "decode/event_object.h"
#include "decode/json_text.h"

namespace llm_exporter::decode {
namespace {

constexpr std::string_view kByteOrderMark = "\xEF\xBB\xBF";
constexpr std::string_view kExpectedForms =
    "send a JSON object, a JSON array of objects, or NDJSON (one object a line)";

bool IsTextError(simdjson::error_code code) {
  return code == simdjson::UTF8_ERROR || code == simdjson::STRING_ERROR;
}

// Why one event's JSON could not be parsed, as a rejection.
EventError ParseFailure(std::size_t index, simdjson::error_code code) {
  EventError error;
  error.index = index;
  switch (code) {
    case simdjson::NUMBER_ERROR:
    case simdjson::NUMBER_OUT_OF_RANGE:
      error.reason = RejectReason::kInvalidValue;
      error.message = fmt::format(
          "event {}: a number is out of range (counts must fit in 64 bits, other numbers in a "
          "double)", index);
      break;
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
    EventError error = ParseFailure(0, code);
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
        Reject(ParseFailure(i, code));
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
        EventError error = ParseFailure(this_index, code);
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
  return result;
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
  return result;
}

}  // namespace llm_exporter::decode
