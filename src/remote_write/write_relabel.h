// write_relabel_configs: which series a remote_write target gets. Each rule keeps or drops a
// series by the values of its source labels joined by the separator, matched in full against
// the rule's RE2 regex, in order, as Prometheus applies them.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "config/remote_write_config.h"
#include "expose/exposition.h"

namespace re2 {
class RE2;
}

namespace llm_exporter::remote_write {

// Not thread-safe (it caches decisions by metric name): one per encoding thread.
class WriteRelabel {
 public:
  explicit WriteRelabel(const std::vector<config::WriteRelabelRule>& rules);
  ~WriteRelabel();
  WriteRelabel(WriteRelabel&&) noexcept;

  bool empty() const { return rules_.empty(); }
  // Whether only the metric's name decides: then Keep() needs no other label, and its answer
  // for a name is remembered.
  bool by_name_only() const { return by_name_only_; }
  // Whether a series with these labels is sent; `labels` include "__name__".
  bool Keep(std::span<const expose::Label> labels);
  // The same for a series whose only label that matters is its name (by_name_only()).
  bool KeepName(std::string_view name);

 private:
  struct Rule;
  std::vector<Rule> rules_;
  bool by_name_only_ = true;
  std::unordered_map<std::string, bool> by_name_;
  std::string joined_;  // scratch
};

}  // namespace llm_exporter::remote_write
