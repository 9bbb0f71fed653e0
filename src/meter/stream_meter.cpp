#include "meter/stream_meter.h"

#include <simdjson.h>

#include <cstring>
#include <vector>

#include "meter/json_members.h"
#include "meter/wire_fields.h"

namespace llm_exporter::meter {
namespace {

using simdjson::dom::element;

// The fields of one SSE event that metering reads.
struct SseFields {
  std::string_view event;      // the last `event:` value
  std::string_view data;       // the data: one line's value in the raw event, or the lines joined
  std::size_t data_offset = 0;  // where `data` starts in the raw event, when it is one line
  int data_lines = 0;
};

std::string_view TrimJsonWhitespace(std::string_view text) {
  const std::size_t begin = SkipJsonWhitespace(text, 0);
  std::size_t end = text.size();
  while (end > begin &&
         (text[end - 1] == ' ' || text[end - 1] == '\t' || text[end - 1] == '\r' ||
          text[end - 1] == '\n')) {
    --end;
  }
  return text.substr(begin, end - begin);
}

bool NonEmptyString(const element& object, std::string_view key) {
  return !StringField(object, key).empty();
}

bool NonEmptyArray(const element& object, std::string_view key) {
  simdjson::dom::array array;
  return object.at_key(key).get_array().get(array) == simdjson::SUCCESS && array.size() > 0;
}

// A chat or completions choice that carries content: what starts the answer the user waits for.
bool ChoiceHasContent(const element& choice) {
  if (!choice.is_object()) return false;
  if (NonEmptyString(choice, "text")) return true;  // completions
  element delta;
  if (choice.at_key("delta").get(delta) != simdjson::SUCCESS || !delta.is_object()) return false;
  return NonEmptyString(delta, "content") || NonEmptyArray(delta, "tool_calls") ||
         NonEmptyString(delta, "refusal") || NonEmptyString(delta, "reasoning_content") ||
         NonEmptyString(delta, "reasoning");
}

bool IsResponsesContentEvent(std::string_view type) {
  return type == "response.output_text.delta" || type == "response.refusal.delta" ||
         type == "response.function_call_arguments.delta" ||
         type == "response.reasoning_summary_text.delta";
}

}  // namespace

struct StreamMeter::Impl {
  Impl(ApiKind kind_in, Operation op_in, bool strip_in)
      : kind(kind_in),
        op(op_in),
        strip(strip_in && kind_in == ApiKind::kOpenAi &&
              (op_in == Operation::kChat || op_in == Operation::kCompletion)) {}

  // Splits the event into lines (any of the three endings) and reads its fields as the SSE
  // specification does: "field: value" with one optional space after the colon, ':' comments.
  SseFields ReadFields(std::string_view raw) {
    SseFields fields;
    std::size_t i = 0;
    while (i < raw.size()) {
      std::size_t end = i;
      while (end < raw.size() && raw[end] != '\n' && raw[end] != '\r') ++end;
      const std::string_view line = raw.substr(i, end - i);
      i = end;
      if (i < raw.size()) i += (raw[i] == '\r' && i + 1 < raw.size() && raw[i + 1] == '\n') ? 2 : 1;
      if (line.empty() || line[0] == ':') continue;
      const std::size_t colon = line.find(':');
      const std::string_view name = line.substr(0, colon);
      std::string_view value = colon == std::string_view::npos ? std::string_view()
                                                               : line.substr(colon + 1);
      if (!value.empty() && value[0] == ' ') value.remove_prefix(1);
      if (name == "event") {
        fields.event = value;
      } else if (name == "data") {
        if (++fields.data_lines == 1) {
          fields.data = value;
          fields.data_offset = static_cast<std::size_t>(value.data() - raw.data());
        } else {
          if (fields.data_lines == 2) joined.assign(fields.data);
          joined.push_back('\n');
          joined.append(value);
          fields.data = joined;
        }
      }
    }
    return fields;
  }

  // Parses `json` with the stream's parser, from a padded copy (simdjson reads up to
  // SIMDJSON_PADDING bytes past the end).
  bool Parse(std::string_view json, element* root) {
    if (json.empty()) return false;  // not JSON; and a "data" line without a colon has no bytes
    if (padded_capacity < json.size() + simdjson::SIMDJSON_PADDING) {
      padded_capacity = json.size() + simdjson::SIMDJSON_PADDING;
      padded = std::make_unique<char[]>(padded_capacity);
    }
    std::memcpy(padded.get(), json.data(), json.size());
    if (parser.capacity() > kRetainedCapacity) parser = simdjson::dom::parser{};
    return parser.parse(padded.get(), json.size(), false).get(*root) == simdjson::SUCCESS;
  }

  // The raw event without the top-level "usage" member of its (one-line) data; false when it
  // cannot be found in the text, which is then relayed as it came.
  bool RemoveUsageMember(std::string_view raw, const SseFields& fields, std::string* out) {
    const std::size_t open = SkipJsonWhitespace(fields.data, 0);
    std::size_t close = 0;
    if (!ReadObjectMembers(fields.data, open, &members, &close)) return false;
    for (std::size_t k = 0; k < members.size(); ++k) {
      if (!KeyEquals(fields.data, members[k], "usage")) continue;
      // With the comma before it, or after it when it is the first member.
      std::size_t begin = members[k].key_begin;
      std::size_t end = members[k].value_end;
      if (k > 0) {
        begin = members[k - 1].value_end;
      } else if (members.size() > 1) {
        end = members[1].key_begin;
      }
      out->assign(raw.substr(0, fields.data_offset + begin));
      out->append(raw.substr(fields.data_offset + end));
      return true;
    }
    return false;
  }

  // A parser grown past this by one large event (a long response.completed) is replaced after
  // it, not kept for the stream's life: simdjson keeps about 14 bytes per byte of capacity.
  static constexpr std::size_t kRetainedCapacity = std::size_t{1} << 20;

  const ApiKind kind;
  const Operation op;
  const bool strip;
  simdjson::dom::parser parser;
  std::unique_ptr<char[]> padded;
  std::size_t padded_capacity = 0;
  std::string joined;
  std::vector<JsonMember> members;
  AnthropicUsage anthropic_usage;
  bool seen_content = false;
};

StreamMeter::StreamMeter(ApiKind kind, Operation op, bool strip_injected_usage)
    : impl_(std::make_unique<Impl>(kind, op, strip_injected_usage)) {}

StreamMeter::~StreamMeter() = default;

StreamMeter::Action StreamMeter::OnEvent(std::string_view raw_event, std::string* rewritten) {
  first_content_ = false;
  Impl& impl = *impl_;
  const SseFields fields = impl.ReadFields(raw_event);
  const bool named_error = fields.event == "error";
  if (fields.event == "ping") return Action::kForward;
  const std::string_view data = TrimJsonWhitespace(fields.data);
  if (fields.data_lines == 0 || data == "[DONE]") {
    if (named_error) metered_.error = true;
    return Action::kForward;
  }
  element root;
  if (!impl.Parse(data, &root)) {
    if (named_error) metered_.error = true;
    return Action::kForward;
  }
  ReadError(root, named_error, &metered_);
  if (!root.is_object()) return Action::kForward;

  bool content = false;
  Action action = Action::kForward;
  if (impl.kind == ApiKind::kAnthropic) {
    std::string_view type = StringField(root, "type");
    if (type.empty()) type = fields.event;
    element part;
    if (type == "message_start") {
      if (root.at_key("message").get(part) == simdjson::SUCCESS && part.is_object()) {
        SetModel(StringField(part, "model"), &metered_);
        element usage;
        if (part.at_key("usage").get(usage) == simdjson::SUCCESS &&
            impl.anthropic_usage.Merge(usage)) {
          metered_.usage = impl.anthropic_usage.ToUsage();
        }
      }
    } else if (type == "message_delta") {
      if (root.at_key("usage").get(part) == simdjson::SUCCESS && impl.anthropic_usage.Merge(part)) {
        metered_.usage = impl.anthropic_usage.ToUsage();
      }
    } else if (type == "content_block_delta") {
      content = true;
    }
  } else if (impl.op == Operation::kResponses) {
    std::string_view type = StringField(root, "type");
    if (type.empty()) type = fields.event;
    content = IsResponsesContentEvent(type);
    element response;
    if (root.at_key("response").get(response) == simdjson::SUCCESS && response.is_object()) {
      SetModel(StringField(response, "model"), &metered_);
      element usage;
      if (response.at_key("usage").get(usage) == simdjson::SUCCESS) {
        ReadOpenAiUsage(usage, &metered_.usage);
      }
    }
  } else {
    SetModel(StringField(root, "model"), &metered_);
    simdjson::dom::array choices;
    bool has_choices = false;
    if (root.at_key("choices").get_array().get(choices) == simdjson::SUCCESS) {
      for (const element choice : choices) {
        has_choices = true;
        if (ChoiceHasContent(choice)) {
          content = true;
          break;
        }
      }
    }
    element usage;
    if (root.at_key("usage").get(usage) == simdjson::SUCCESS) {
      ReadOpenAiUsage(usage, &metered_.usage);
      element error;
      const bool carries_error =
          root.at_key("error").get(error) == simdjson::SUCCESS && !error.is_null();
      if (impl.strip && !carries_error) {
        if (usage.is_object() && !has_choices) {
          action = Action::kDrop;  // the usage-only chunk the client did not ask for
        } else if (fields.data_lines == 1 &&
                   impl.RemoveUsageMember(raw_event, fields, rewritten)) {
          action = Action::kRewrite;
        }
      }
    }
  }
  if (content && !impl.seen_content) {
    impl.seen_content = true;
    first_content_ = true;
  }
  return action;
}

}  // namespace llm_exporter::meter
