"""The seed's asynchronous evaluation pipeline in asyncio: an LLM judge scores a sample of the
app's completed calls, and each score goes to the llm_exporter agent as a quality event,
{"type": "quality", "evaluator": "llm_judge", "model": ..., "score": overall, "trace_id": ...}.

    from pipeline import CompletedCall, EvaluationPipeline, OpenAIJudge

    async with EvaluationPipeline(OpenAIJudge(), sample_rate=0.1, concurrency=4) as evaluation:
        ...
        evaluation.submit(CompletedCall(trace_id, query, answer, model="gpt-4o"))  # never waits
        ...
    # leaving the block (or await evaluation.close()) scores what is queued, then stops
    print(evaluation.stats)

From the command line, scoring completed calls kept as NDJSON, one
{"trace_id", "query", "response", "model"} object a line:

    python3 examples/evaluation/pipeline.py calls.ndjson --sample-rate 0.2 --concurrency 4

- Sampling is deterministic: a call is scored when the first 8 bytes of SHA-256(trace id), as a
  fraction of 2^64, are below sample_rate; the same trace id always gets the same answer, in every
  process, so a trace is either scored everywhere or nowhere. A call without a trace id is keyed
  by its query and response.
- Bounded: `concurrency` workers take calls from a queue of at most `max_queue`; submit() never
  waits, and a call that finds the queue full (or the pipeline closed) is dropped and counted.
- A judge call that fails (raises, takes over judge_timeout, answers something that is not JSON,
  or has no "overall" score from 1 to 5) is retried after backoff, 2 x backoff, 4 x backoff ...
  at most max_retries times, then dropped and counted; the first drop of a run of failures is
  logged as a warning, the next ones at debug level until a call is scored again.

Plug in a real judge by passing any object with `async def complete(self, prompt: str) -> str`
(the Judge protocol) that sends the prompt to a model and returns its text; OpenAIJudge does so
with an OpenAI-compatible API, and its own calls are reported as LLM calls (endpoint
"/evaluation") so the judge's cost shows beside the app's.
"""
import argparse
import asyncio
import dataclasses
import hashlib
import json
import logging
import math
import os
import sys
from typing import Protocol

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
import llm_metrics  # noqa: E402
import llm_openai  # noqa: E402

EVALUATOR = "llm_judge"
JUDGE_MODEL = "gpt-4o-mini"  # cheaper model for evaluation, as in the seed
EVALUATION_PROMPT = """
You are evaluating an AI response quality.

Query: {query}
Response: {response}

Rate on scale 1-5:
1. Relevance (1-5)
2. Accuracy (1-5)
3. Helpfulness (1-5)

Output JSON: {{"relevance": N, "accuracy": N, "helpfulness": N, "overall": N}}
"""
log = logging.getLogger("llm_evaluation")


@dataclasses.dataclass(frozen=True)
class CompletedCall:
    """One answered call to evaluate; `model` is the model that answered (the score's label)."""
    trace_id: str | None
    query: str
    response: str
    model: str


class Judge(Protocol):
    """Where a real judge plugs in: sends the prompt to a model, returns the model's text."""

    async def complete(self, prompt: str) -> str: ...


class OpenAIJudge:
    """A judge on an OpenAI-compatible API (llm_openai.ChatClient: $OPENAI_BASE_URL,
    $OPENAI_API_KEY), asking for a JSON object. The blocking call runs in a thread."""

    def __init__(self, client=None, model=JUDGE_MODEL, endpoint="/evaluation"):
        self.client = client or llm_openai.ChatClient(endpoint=endpoint, timeout=60.0)
        self.model = model

    async def complete(self, prompt):
        answer = await asyncio.to_thread(
            self.client.create, self.model, [{"role": "user", "content": prompt}],
            response_format={"type": "json_object"})
        return answer["choices"][0]["message"]["content"]


def parse_verdict(text):
    """The judge's scores as a dict; raises ValueError unless it is a JSON object whose
    "overall" is a number from 1 to 5."""
    scores = json.loads(text)
    if not isinstance(scores, dict):
        raise ValueError(f"the judge answered {type(scores).__name__}, not a JSON object")
    overall = scores.get("overall")
    if isinstance(overall, bool) or not isinstance(overall, (int, float)) \
            or not math.isfinite(overall) or not 1 <= overall <= 5:
        raise ValueError(f"overall score must be a number from 1 to 5, got {overall!r}")
    return scores


def sample_fraction(call):
    """Where the call falls in [0, 1): the first 8 bytes of SHA-256 of its trace id (or, without
    one, of its query and response) over 2^64."""
    key = call.trace_id if call.trace_id else call.query + "\0" + call.response
    return int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:8], "big") / 2.0**64


@dataclasses.dataclass
class PipelineStats:
    """What happened to the calls submitted so far."""
    sampled: int = 0     # chosen by sampling and queued
    skipped: int = 0     # not chosen by sampling
    queue_full: int = 0  # chosen, but dropped: the queue was full or the pipeline closed
    scored: int = 0      # scored and reported
    retried: int = 0     # judge attempts that failed and were tried again
    failed: int = 0      # dropped after the last attempt failed

    @property
    def dropped(self):
        return self.queue_full + self.failed


class EvaluationPipeline:
    """Samples completed calls, scores them with a judge and reports the overall score.

    Use it from one event loop: submit() from any coroutine or callback of that loop (it does not
    wait), start() or `async with` before, close() after. reporter: anything with llm_metrics'
    track_quality_score (default: the llm_metrics module).
    """

    def __init__(self, judge, reporter=None, *, sample_rate=1.0, concurrency=4, max_queue=1000,
                 max_retries=2, backoff=0.5, judge_timeout=30.0, evaluator=EVALUATOR):
        self.judge = judge
        self.reporter = reporter if reporter is not None else llm_metrics
        self.sample_rate = sample_rate
        self.concurrency = concurrency
        self.max_retries = max_retries
        self.backoff = backoff
        self.judge_timeout = judge_timeout
        self.evaluator = evaluator
        self.stats = PipelineStats()
        self._queue = asyncio.Queue(maxsize=max_queue)
        self._workers = []
        self._closed = False
        self._warned = False

    async def __aenter__(self):
        self.start()
        return self

    async def __aexit__(self, *exc):
        await self.close()

    def start(self):
        """Starts the workers; call it from the event loop that will run them."""
        if not self._workers:
            self._workers = [asyncio.create_task(self._work(), name=f"evaluation-{i}")
                             for i in range(self.concurrency)]

    def submit(self, call):
        """Offers one completed call; True when it was sampled and queued. Never waits."""
        if not self._admit(call):
            return False
        try:
            self._queue.put_nowait(call)
        except asyncio.QueueFull:
            self.stats.queue_full += 1
            return False
        self.stats.sampled += 1
        return True

    async def put(self, call):
        """As submit(), but waits for room in the queue instead of dropping: for batch jobs that
        should slow down rather than lose calls. True when sampled and queued."""
        if not self._admit(call):
            return False
        await self._queue.put(call)
        self.stats.sampled += 1
        return True

    def _admit(self, call):
        """Whether the call is sampled and the pipeline still open; counts it when not."""
        if sample_fraction(call) >= self.sample_rate:
            self.stats.skipped += 1
            return False
        if self._closed:
            self.stats.queue_full += 1
            return False
        return True

    async def close(self):
        """Refuses new calls, scores every queued one (retries included), then stops the workers."""
        self._closed = True
        self.start()  # calls submitted before start() are scored too
        await self._queue.join()
        for worker in self._workers:
            worker.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        self._workers = []

    async def evaluate(self, call):
        """Scores one call with retries and reports it; the scores dict, or None when dropped."""
        prompt = EVALUATION_PROMPT.format(query=call.query, response=call.response)
        for attempt in range(self.max_retries + 1):
            try:
                text = await asyncio.wait_for(self.judge.complete(prompt), self.judge_timeout)
                scores = parse_verdict(text)
            except Exception as error:  # the judge's errors, TimeoutError, ValueError
                if attempt < self.max_retries:
                    self.stats.retried += 1
                    await asyncio.sleep(self.backoff * 2 ** attempt)
                    continue
                self._drop(call, error)
                return None
            self._report(call, scores["overall"])
            return scores

    async def _work(self):
        while True:
            call = await self._queue.get()
            try:
                await self.evaluate(call)
            except Exception:  # a worker survives anything, or the queue would never drain
                log.exception("evaluating trace %s failed", call.trace_id)
                self.stats.failed += 1
            finally:
                self._queue.task_done()

    def _report(self, call, overall):
        self.stats.scored += 1
        self._warned = False
        try:
            if call.trace_id:
                self.reporter.track_quality_score(call.model, self.evaluator, overall,
                                                  trace_id=call.trace_id)
            else:
                self.reporter.track_quality_score(call.model, self.evaluator, overall)
        except Exception:
            log.exception("reporting a quality score failed")

    def _drop(self, call, error):
        self.stats.failed += 1
        level = logging.DEBUG if self._warned else logging.WARNING
        self._warned = True
        log.log(level, "dropped the evaluation of trace %s after %d attempts: %r",
                call.trace_id, self.max_retries + 1, error)


async def _main(args):
    judge = OpenAIJudge(model=args.judge_model)
    async with EvaluationPipeline(judge, sample_rate=args.sample_rate,
                                  concurrency=args.concurrency) as evaluation:
        with open(args.calls, encoding="utf-8") if args.calls != "-" else sys.stdin as lines:
            for line in lines:
                if line.strip():
                    record = json.loads(line)
                    await evaluation.put(CompletedCall(record.get("trace_id"), record["query"],
                                                       record["response"], record["model"]))
    return evaluation.stats


def main():
    parser = argparse.ArgumentParser(description="Scores completed LLM calls with an LLM judge "
                                     "and reports the scores to the llm_exporter agent.")
    parser.add_argument("calls", help='NDJSON file ("-": stdin) of {"trace_id", "query", '
                        '"response", "model"} objects')
    parser.add_argument("--sample-rate", type=float, default=1.0)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--judge-model", default=JUDGE_MODEL)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    stats = asyncio.run(_main(args))
    flushed = llm_metrics.flush(timeout=10)
    print(f"{stats}; sent to the agent: {flushed}; events dropped by the reporter: "
          f"{llm_metrics.reporter().dropped}")
    return 0 if stats.failed == 0 and stats.queue_full == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
