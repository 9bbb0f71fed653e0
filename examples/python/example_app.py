"""A tiny app reporting its LLM calls through llm_metrics.

    python3 examples/python/example_app.py        # agent at $LLM_EXPORTER_URL or 127.0.0.1:9778

The model calls are simulated; in a real app, time the provider call and read the token counts
from its response. Nothing here fails or slows down when the agent is not running.
"""
import logging
import random
import time

import llm_metrics


def answer(question, user_id, team_id, model="gpt-4o-mini"):
    """Pretends to call a model, then reports the call."""
    start = time.monotonic()
    time.sleep(random.uniform(0.01, 0.05))  # the provider call would go here
    ttft = time.monotonic() - start
    time.sleep(random.uniform(0.01, 0.05))
    latency = time.monotonic() - start
    input_tokens, output_tokens = 12 * len(question.split()), random.randint(50, 300)
    llm_metrics.track_llm_call(model, "/chat", input_tokens, output_tokens, latency, ttft,
                               user_id, team_id, trace_id=f"demo-{random.getrandbits(32):08x}")
    return f"(an answer to {question!r})"


def main():
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    for question, user, team in [("What is our refund policy?", "alice", "support"),
                                 ("Summarise ticket 4711", "bob", "support"),
                                 ("Draft a release note", "carol", "platform")]:
        print(answer(question, user, team))
    # A prompt served from the provider's cache: say so, so llm_cache_hits_total counts it.
    llm_metrics.track_llm_call("gpt-4o", "/chat", 800, 120, 0.9, 0.2, "alice", "support",
                               cached_input_tokens=768, cache="hit")
    # A failed call still counts, under status="error".
    llm_metrics.track_llm_call("gpt-4o", "/chat", 800, 0, 30.0, None, "bob", "support",
                               status="error")
    # An evaluator's verdict on one of the answers.
    llm_metrics.track_quality_score("gpt-4o-mini", "llm-judge", 4.0)

    # Before exiting, send what is still queued (close() at exit would too, silently).
    finished = llm_metrics.flush(timeout=5)
    print(f"flush finished in time: {finished}; events dropped: {llm_metrics.reporter().dropped}")


if __name__ == "__main__":
    main()
