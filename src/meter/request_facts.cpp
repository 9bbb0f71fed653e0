#include "meter/request_facts.h"

#include <simdjson.h>

#include <algorithm>
#include <vector>

#include "meter/json_members.h"
#include "meter/wire_fields.h"

namespace llm_exporter::meter {
namespace {

using simdjson::dom::element;

// One change to the body: replace [begin, end) with `text`.
struct Edit {
  std::size_t begin;
  std::size_t end;
  std::string_view text;
};

// Inserted as the first member, with the comma when other members follow.
constexpr std::string_view kStreamOptions = R"("stream_options":{"include_usage":true})";
constexpr std::string_view kStreamOptionsComma = R"("stream_options":{"include_usage":true},)";
constexpr std::string_view kIncludeUsage = R"("include_usage":true)";
constexpr std::string_view kIncludeUsageComma = R"("include_usage":true,)";
constexpr std::string_view kUsageObject = R"({"include_usage":true})";

// Adds to *edits the change that makes the stream_options value at [member.value_begin,
// member.value_end) ask for usage. False when the text is not as simdjson said it was.
bool EditStreamOptions(std::string_view body, const JsonMember& member, std::vector<Edit>* edits) {
  if (body[member.value_begin] != '{') {
    edits->push_back({member.value_begin, member.value_end, kUsageObject});
    return true;
  }
  std::vector<JsonMember> options;
  std::size_t close = 0;
  if (!ReadObjectMembers(body, member.value_begin, &options, &close)) return false;
  bool found = false;
  for (const JsonMember& option : options) {
    if (KeyEquals(body, option, "include_usage")) {
      edits->push_back({option.value_begin, option.value_end, "true"});
      found = true;
    }
  }
  if (!found) {
    const std::size_t at = member.value_begin + 1;
    edits->push_back({at, at, options.empty() ? kIncludeUsage : kIncludeUsageComma});
  }
  return true;
}

}  // namespace

RequestFacts ReadRequest(std::string_view body) {
  RequestFacts facts;
  simdjson::dom::parser parser;
  element root;
  if (parser.parse(body.data(), body.size()).get(root) != simdjson::SUCCESS || !root.is_object()) {
    return facts;
  }
  facts.model = StringField(root, "model");
  facts.user = StringField(root, "user");
  element nested;
  if (facts.user.empty() && root.at_key("metadata").get(nested) == simdjson::SUCCESS &&
      nested.is_object()) {
    facts.user = StringField(nested, "user_id");
  }
  element flag;
  facts.stream = root.at_key("stream").get(flag) == simdjson::SUCCESS && flag.is_bool() &&
                 flag.get_bool().value_unsafe();
  if (root.at_key("stream_options").get(nested) == simdjson::SUCCESS && nested.is_object()) {
    facts.include_usage = nested.at_key("include_usage").get(flag) == simdjson::SUCCESS &&
                          flag.is_bool() && flag.get_bool().value_unsafe();
  }
  return facts;
}

std::optional<std::string> InjectStreamUsage(std::string_view body) {
  {
    simdjson::dom::parser parser;
    element root;
    if (parser.parse(body.data(), body.size()).get(root) != simdjson::SUCCESS ||
        !root.is_object()) {
      return std::nullopt;
    }
  }
  const std::size_t open = SkipJsonWhitespace(body, 0);
  std::vector<JsonMember> members;
  std::size_t close = 0;
  if (!ReadObjectMembers(body, open, &members, &close)) return std::nullopt;

  std::vector<Edit> edits;
  for (const JsonMember& member : members) {
    if (KeyEquals(body, member, "stream_options") && !EditStreamOptions(body, member, &edits)) {
      return std::nullopt;
    }
  }
  if (edits.empty()) {
    // No stream_options: the new member goes first, so that nothing after it moves but by its
    // length, and no trailing comma can be needed.
    const std::size_t at = open + 1;
    edits.push_back({at, at, members.empty() ? kStreamOptions : kStreamOptionsComma});
  }

  // Applied from the last position to the first (edits never overlap), so that each applies to
  // bytes not yet moved.
  std::sort(edits.begin(), edits.end(),
            [](const Edit& a, const Edit& b) { return a.begin > b.begin; });
  std::size_t extra = 0;
  for (const Edit& edit : edits) extra += edit.text.size();
  std::string out;
  out.reserve(body.size() + extra);
  std::size_t tail = body.size();
  std::vector<std::string_view> pieces;  // back to front
  for (const Edit& edit : edits) {
    pieces.push_back(body.substr(edit.end, tail - edit.end));
    pieces.push_back(edit.text);
    tail = edit.begin;
  }
  pieces.push_back(body.substr(0, tail));
  for (auto it = pieces.rbegin(); it != pieces.rend(); ++it) out.append(*it);
  return out;
}

}  // namespace llm_exporter::meter
