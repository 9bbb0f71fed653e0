#include "meter/json_members.h"

namespace llm_exporter::meter {
namespace {

constexpr std::size_t kNone = std::string_view::npos;

// Just past the string whose opening quote is at text[i], or kNone.
std::size_t SkipString(std::string_view text, std::size_t i) {
  for (++i; i < text.size(); ++i) {
    if (text[i] == '\\') {
      ++i;
    } else if (text[i] == '"') {
      return i + 1;
    }
  }
  return kNone;
}

// Just past the value starting at text[i], or kNone. Nesting is followed with a counter, not
// recursion, so that deep input costs no stack.
std::size_t SkipValue(std::string_view text, std::size_t i) {
  if (i >= text.size()) return kNone;
  const char c = text[i];
  if (c == '"') return SkipString(text, i);
  if (c == '{' || c == '[') {
    std::size_t depth = 0;
    while (i < text.size()) {
      const char d = text[i];
      if (d == '"') {
        i = SkipString(text, i);
        if (i == kNone) return kNone;
        continue;
      }
      if (d == '{' || d == '[') {
        ++depth;
      } else if (d == '}' || d == ']') {
        if (--depth == 0) return i + 1;
      }
      ++i;
    }
    return kNone;
  }
  const std::size_t start = i;
  while (i < text.size()) {
    const char d = text[i];
    if (d == ',' || d == '}' || d == ']' || d == ' ' || d == '\t' || d == '\r' || d == '\n') break;
    ++i;
  }
  return i == start ? kNone : i;
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::size_t SkipJsonWhitespace(std::string_view text, std::size_t from) {
  while (from < text.size() &&
         (text[from] == ' ' || text[from] == '\t' || text[from] == '\r' || text[from] == '\n')) {
    ++from;
  }
  return from;
}

bool ReadObjectMembers(std::string_view text, std::size_t open, std::vector<JsonMember>* members,
                       std::size_t* close) {
  members->clear();
  if (open >= text.size() || text[open] != '{') return false;
  std::size_t i = SkipJsonWhitespace(text, open + 1);
  if (i < text.size() && text[i] == '}') {
    *close = i;
    return true;
  }
  while (i < text.size()) {
    JsonMember member;
    if (text[i] != '"') return false;
    member.key_begin = i;
    member.key_end = SkipString(text, i);
    if (member.key_end == kNone) return false;
    i = SkipJsonWhitespace(text, member.key_end);
    if (i >= text.size() || text[i] != ':') return false;
    member.value_begin = SkipJsonWhitespace(text, i + 1);
    member.value_end = SkipValue(text, member.value_begin);
    if (member.value_end == kNone) return false;
    members->push_back(member);
    i = SkipJsonWhitespace(text, member.value_end);
    if (i >= text.size()) return false;
    if (text[i] == '}') {
      *close = i;
      return true;
    }
    if (text[i] != ',') return false;
    i = SkipJsonWhitespace(text, i + 1);
  }
  return false;
}

bool KeyEquals(std::string_view text, const JsonMember& member, std::string_view name) {
  const std::string_view key =
      text.substr(member.key_begin + 1, member.key_end - member.key_begin - 2);
  std::size_t n = 0;
  for (std::size_t i = 0; i < key.size(); ++i, ++n) {
    char c = key[i];
    if (c == '\\') {
      if (++i >= key.size()) return false;
      switch (key[i]) {
        case 'u': {
          if (key.size() - i < 5) return false;  // \u and four hex digits
          int code = 0;
          for (std::size_t k = 1; k <= 4; ++k) {
            const int digit = HexDigit(key[i + k]);
            if (digit < 0) return false;
            code = code * 16 + digit;
          }
          if (code >= 0x80) return false;  // `name` is ASCII
          c = static_cast<char>(code);
          i += 4;
          break;
        }
        case 'n': c = '\n'; break;
        case 't': c = '\t'; break;
        case 'r': c = '\r'; break;
        case 'b': c = '\b'; break;
        case 'f': c = '\f'; break;
        default: c = key[i]; break;  // \" \\ \/
      }
    }
    if (n >= name.size() || name[n] != c) return false;
  }
  return n == name.size();
}

}  // namespace llm_exporter::meter
