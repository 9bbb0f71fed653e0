#include "remote_write/write_relabel.h"

#include <doctest/doctest.h>

#include <vector>

namespace llm_exporter::remote_write {
namespace {

using config::WriteRelabelRule;

WriteRelabelRule Rule(std::vector<std::string> sources, std::string regex,
                      WriteRelabelRule::Action action) {
  WriteRelabelRule rule;
  rule.source_labels = std::move(sources);
  rule.regex = std::move(regex);
  rule.action = action;
  return rule;
}

TEST_CASE("WriteRelabel: no rules keep everything") {
  WriteRelabel relabel({});
  CHECK(relabel.empty());
  CHECK(relabel.KeepName("anything"));
}

TEST_CASE("WriteRelabel: drop and keep by name, anchored at both ends, in order") {
  WriteRelabel relabel({Rule({"__name__"}, "llm_exporter_.*|process_.*",
                             WriteRelabelRule::Action::kDrop),
                        Rule({"__name__"}, "llm_.*", WriteRelabelRule::Action::kKeep)});
  CHECK(relabel.by_name_only());
  CHECK(relabel.KeepName("llm_requests_total"));
  CHECK_FALSE(relabel.KeepName("llm_exporter_series"));
  CHECK_FALSE(relabel.KeepName("process_cpu_seconds_total"));
  CHECK_FALSE(relabel.KeepName("go_goroutines"));      // not kept by the second rule
  CHECK_FALSE(relabel.KeepName("x_llm_requests_total"));  // anchored: "llm_.*" must match all
  CHECK(relabel.KeepName("llm_requests_total"));         // remembered, same answer
}

TEST_CASE("WriteRelabel: several source labels joined by the separator; a missing one is empty") {
  WriteRelabelRule rule = Rule({"model", "status"}, "gpt-4o;error", WriteRelabelRule::Action::kDrop);
  WriteRelabel relabel({rule});
  CHECK_FALSE(relabel.by_name_only());
  const std::vector<expose::Label> error = {
      {"__name__", "llm_requests_total"}, {"model", "gpt-4o"}, {"status", "error"}};
  const std::vector<expose::Label> success = {
      {"__name__", "llm_requests_total"}, {"model", "gpt-4o"}, {"status", "success"}};
  CHECK_FALSE(relabel.Keep(error));
  CHECK(relabel.Keep(success));
  WriteRelabel missing({Rule({"model", "team_id"}, "gpt-4o;", WriteRelabelRule::Action::kKeep)});
  CHECK(missing.Keep(success));
}

}  // namespace
}  // namespace llm_exporter::remote_write
