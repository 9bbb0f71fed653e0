#!/usr/bin/env bash
# Posts example events to a running llm_exporter, once per body format /v1/events accepts, and
# prints the agent's answer to each: {"accepted":N,"rejected":M,"errors":[...]}.
#
#   LLM_EXPORTER_URL=http://127.0.0.1:9778 examples/curl/send-events.sh
#   curl -s http://127.0.0.1:9778/metrics | grep '^llm_'
#
# tests/integration/test_examples.py runs this script and asserts the exact metric values these
# events imply (the costs in the comments use the default price table); keep the two in step.
set -euo pipefail

url="${LLM_EXPORTER_URL:-http://127.0.0.1:9778}/v1/events"

# post CONTENT_TYPE BODY: --data-binary sends the body byte for byte (plain -d would strip the
# newlines NDJSON needs); --fail-with-body makes an HTTP error fail the script yet still print the
# agent's explanation.
post() {
  curl --silent --show-error --fail-with-body --max-time 5 \
       -H "Content-Type: $1" --data-binary "$2" "$url"
  echo
}

# (a) One LLM call as a single JSON object. Priced by the agent:
#     (1000 * 0.0025 + 500 * 0.01) / 1000 = 0.0075 USD.
echo "(a) one LLM call:"
post application/json '{
  "model": "gpt-4o", "endpoint": "/chat",
  "input_tokens": 1000, "output_tokens": 500,
  "latency": 0.25, "ttft": 0.08,
  "user_id": "alice", "team_id": "search", "trace_id": "trace-0001"
}'

# (b) A batch as a JSON array; each element is accepted or rejected on its own.
#     gpt-4o-mini: (2000 * 0.00015 + 400 * 0.0006) / 1000 = 0.00054 USD.
#     The failed claude call (status "error", no ttft) still costs 100 * 0.003 / 1000 = 0.0003 USD.
echo "(b) JSON array batch:"
post application/json '[
  {"model": "gpt-4o-mini", "endpoint": "/summarize", "input_tokens": 2000, "output_tokens": 400,
   "latency": 1.5, "ttft": 0.3, "user_id": "bob", "team_id": "support"},
  {"model": "claude-sonnet-4-20250514", "endpoint": "/chat", "status": "error",
   "input_tokens": 100, "output_tokens": 0, "latency": 0.05,
   "user_id": "alice", "team_id": "search"}
]'

# (c) NDJSON: one event a line, convenient for appending from logs.
#     The first line carries its own cost_usd (0.5), which the agent uses instead of pricing it.
#     The second: (100 * 0.00015 + 20 * 0.0006) / 1000 = 0.000027 USD, and a cache hit.
echo "(c) NDJSON:"
post application/x-ndjson '{"model": "gpt-4o", "endpoint": "/chat", "input_tokens": 200, "output_tokens": 100, "latency": 3.0, "ttft": 0.6, "user_id": "carol", "team_id": "search", "cache": "miss", "cost_usd": 0.5}
{"model": "gpt-4o-mini", "endpoint": "/summarize", "input_tokens": 100, "output_tokens": 20, "cached_input_tokens": 50, "cache": "hit", "latency": 0.7, "ttft": 0.2, "user_id": "bob", "team_id": "support"}
'

# (d) A quality score from an evaluator (llm_quality_score histogram, buckets 1..5).
echo "(d) quality score:"
post application/json '{"type": "quality", "model": "gpt-4o", "evaluator": "llm-judge", "score": 4}'
