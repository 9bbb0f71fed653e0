#include "decode/json_text.h"

#include <algorithm>
#include <cstdint>

namespace llm_exporter::decode {
namespace {

bool IsJsonSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// Characters that continue a number-like token: JSON's number characters, plus letters so that
// "-Infinity" or "1e4x" is shown whole.
bool IsNumberTokenChar(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         c == '+' || c == '-' || c == '.';
}

// Length of the valid UTF-8 sequence starting at text[i] (RFC 3629: no overlongs, no
// surrogates, nothing above U+10FFFF), or 0 when the bytes there are not valid UTF-8.
std::size_t ValidUtf8Length(std::string_view text, std::size_t i) {
  const auto byte = [&](std::size_t k) { return static_cast<uint8_t>(text[k]); };
  const uint8_t b0 = byte(i);
  if (b0 < 0x80) return 1;
  std::size_t n;
  uint8_t lo = 0x80, hi = 0xBF;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    n = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    n = 3;
    if (b0 == 0xE0) lo = 0xA0;
    if (b0 == 0xED) hi = 0x9F;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    n = 4;
    if (b0 == 0xF0) lo = 0x90;
    if (b0 == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (i + n > text.size()) return 0;
  if (byte(i + 1) < lo || byte(i + 1) > hi) return 0;
  for (std::size_t k = 2; k < n; ++k) {
    if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) return 0;
  }
  return n;
}

// The code unit of a \uXXXX escape at text[i] (text[i] == '\\'), or -1 when it is not one.
int EscapedCodeUnit(std::string_view text, std::size_t i) {
  if (i + 6 > text.size() || text[i] != '\\' || text[i + 1] != 'u') return -1;
  int value = 0;
  for (std::size_t k = i + 2; k < i + 6; ++k) {
    const char c = text[k];
    int digit;
    if (c >= '0' && c <= '9') digit = c - '0';
    else if (c >= 'a' && c <= 'f') digit = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F') digit = c - 'A' + 10;
    else return -1;
    value = value * 16 + digit;
  }
  return value;
}

}  // namespace

std::string_view TrimJsonSpace(std::string_view text) {
  while (!text.empty() && IsJsonSpace(text.front())) text.remove_prefix(1);
  while (!text.empty() && IsJsonSpace(text.back())) text.remove_suffix(1);
  return text;
}

std::size_t SanitizeUtf8(std::string_view text, std::string* out) {
  out->clear();
  out->reserve(text.size() + 16);
  std::size_t replaced = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    if (c == '\\' && i + 1 < text.size()) {
      const int unit = EscapedCodeUnit(text, i);
      if (unit >= 0xD800 && unit <= 0xDBFF) {
        const int next = EscapedCodeUnit(text, i + 6);
        if (next >= 0xDC00 && next <= 0xDFFF) {
          out->append(text.substr(i, 12));
          i += 12;
        } else {
          out->append("\\uFFFF");
          ++replaced;
          i += 6;
        }
      } else if (unit >= 0xDC00 && unit <= 0xDFFF) {
        out->append("\\uFFFF");
        ++replaced;
        i += 6;
      } else {
        out->append(text.substr(i, 2));  // any escape pair, so "\\\\u" is not read as \u
        i += 2;
      }
      continue;
    }
    const std::size_t n = ValidUtf8Length(text, i);
    if (n == 0) {
      out->append(kInvalidTextMarker);
      ++replaced;
      ++i;
    } else {
      out->append(text.substr(i, n));
      i += n;
    }
  }
  return replaced;
}

bool SplitArrayElements(std::string_view array_text, std::vector<std::string_view>* elements) {
  elements->clear();
  std::string_view text = TrimJsonSpace(array_text);
  if (text.empty() || text.front() != '[') return false;
  std::size_t depth = 0;
  bool in_string = false;
  std::size_t element_start = 1;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
      continue;
    }
    switch (c) {
      case '"':
        in_string = true;
        break;
      case '[':
      case '{':
        ++depth;
        break;
      case ']':
      case '}':
        if (depth == 0) return false;
        if (--depth == 0) {
          if (c != ']' || i + 1 != text.size()) return false;
          std::string_view last = TrimJsonSpace(text.substr(element_start, i - element_start));
          // "[]" has no element; "[1,]" has an empty one, which the caller reports as invalid.
          if (!last.empty() || !elements->empty()) elements->push_back(last);
          return true;
        }
        break;
      case ',':
        if (depth == 1) {
          elements->push_back(TrimJsonSpace(text.substr(element_start, i - element_start)));
          element_start = i + 1;
        }
        break;
      default:
        break;
    }
  }
  return false;
}

bool LooksLikeNdjson(std::string_view body) {
  const std::size_t newline = body.find('\n');
  if (newline == std::string_view::npos) return false;
  const std::string_view first = TrimJsonSpace(body.substr(0, newline));
  const std::string_view rest = TrimJsonSpace(body.substr(newline + 1));
  return !first.empty() && first.front() == '{' && first.back() == '}' && !rest.empty();
}

bool FindNumberToken(std::string_view object_text,
                     const std::function<bool(std::string_view token)>& wanted,
                     NumberToken* found) {
  const std::string_view text = object_text;
  std::size_t depth = 0;
  std::string_view last_string;  // the string just closed, a key if a ':' follows at depth 1
  std::string_view field;        // the top-level field being read
  bool after_colon = false;      // nothing but white space since a top-level ':'
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '"') {
      const std::size_t start = i + 1;
      for (++i; i < text.size() && text[i] != '"'; ++i) {
        if (text[i] == '\\') ++i;
      }
      last_string = text.substr(start, std::min(i, text.size()) - start);
      after_colon = false;
      continue;
    }
    if (IsJsonSpace(c)) continue;
    if (c == '-' || (c >= '0' && c <= '9')) {
      std::size_t end = i + 1;
      while (end < text.size() && IsNumberTokenChar(text[end])) ++end;
      const std::string_view token = text.substr(i, end - i);
      if (wanted(token)) {
        *found = {depth >= 1 ? field : std::string_view(), token, depth == 1 && after_colon};
        return true;
      }
      i = end - 1;
      after_colon = false;
      continue;
    }
    after_colon = false;
    switch (c) {
      case '{':
      case '[':
        ++depth;
        break;
      case '}':
      case ']':
        if (depth > 0) --depth;
        break;
      case ':':
        if (depth == 1) {
          field = last_string;
          after_colon = true;
        }
        break;
      default:
        break;
    }
  }
  return false;
}

std::string ShortForMessage(std::string_view text) {
  constexpr std::size_t kShown = 40;
  return text.size() <= kShown ? std::string(text) : std::string(text.substr(0, kShown)) + "...";
}

}  // namespace llm_exporter::decode
