#include "remote_write/write_relabel.h"

#include <re2/re2.h>

namespace llm_exporter::remote_write {

struct WriteRelabel::Rule {
  std::vector<std::string> source_labels;
  std::string separator;
  std::unique_ptr<re2::RE2> regex;
  bool keep = true;
};

WriteRelabel::WriteRelabel(const std::vector<config::WriteRelabelRule>& rules) {
  for (const config::WriteRelabelRule& r : rules) {
    Rule rule;
    rule.source_labels = r.source_labels;
    rule.separator = r.separator;
    // Anchored at both ends, as Prometheus anchors relabel regexes. The config loader has
    // checked that it compiles.
    rule.regex = std::make_unique<re2::RE2>("^(?:" + r.regex + ")$", re2::RE2::Quiet);
    rule.keep = r.action == config::WriteRelabelRule::Action::kKeep;
    if (rule.source_labels.size() != 1 || rule.source_labels[0] != "__name__") {
      by_name_only_ = false;
    }
    rules_.push_back(std::move(rule));
  }
}

WriteRelabel::~WriteRelabel() = default;
WriteRelabel::WriteRelabel(WriteRelabel&&) noexcept = default;

bool WriteRelabel::Keep(std::span<const expose::Label> labels) {
  for (const Rule& rule : rules_) {
    joined_.clear();
    for (std::size_t i = 0; i < rule.source_labels.size(); ++i) {
      if (i > 0) joined_ += rule.separator;
      for (const expose::Label& label : labels) {
        if (label.name == rule.source_labels[i]) {
          joined_ += label.value;
          break;
        }
      }
    }
    const bool matches = re2::RE2::FullMatch(joined_, *rule.regex);
    if (matches != rule.keep) return false;
  }
  return true;
}

bool WriteRelabel::KeepName(std::string_view name) {
  if (rules_.empty()) return true;
  if (const auto it = by_name_.find(std::string(name)); it != by_name_.end()) return it->second;
  const expose::Label label{"__name__", name};
  const bool keep = Keep(std::span<const expose::Label>(&label, 1));
  by_name_.emplace(std::string(name), keep);
  return keep;
}

}  // namespace llm_exporter::remote_write
