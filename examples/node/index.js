// Reports LLM calls from a Node.js app to the host's llm_exporter agent, never blocking or failing
// the app. The Node.js counterpart of examples/python/llm_metrics.py, with the same guarantees.
//
//   import { trackLlmCall } from 'llm-exporter-client';
//   trackLlmCall({ model: 'gpt-4o', endpoint: '/chat', inputTokens: 1200, outputTokens: 350,
//                  latency: 1.8, ttft: 0.4, userId: 'u42', teamId: 'search', traceId: 'abc123' });
//
// Events wait in a bounded queue and go out as JSON arrays to $LLM_EXPORTER_URL/v1/events
// (default http://127.0.0.1:9778) with the global fetch. An event that cannot be delivered (queue
// full, agent down, slow or refusing it, a value JSON cannot carry) is counted in `dropped`, and
// one warning is logged per outage rather than one per event. No dependencies.

export const DEFAULT_URL = 'http://127.0.0.1:9778';

// The numeric fields of an event: each must be a finite number when given, as the agent requires.
const NUMERIC_FIELDS = ['input_tokens', 'output_tokens', 'cached_input_tokens',
  'cache_write_input_tokens', 'reasoning_tokens', 'latency', 'ttft', 'cost_usd', 'score'];

/**
 * Queues events and sends them in batches, one request at a time, from the event loop.
 * Node.js runs it on one thread; share one Reporter across the app. `dropped` counts events
 * that never reached the agent's metrics.
 */
export class Reporter {
  constructor({ url, timeoutMs = 2000, maxQueue = 10_000, batchSize = 500, intervalMs = 500,
    logger = console } = {}) {
    const base = url || process.env.LLM_EXPORTER_URL || DEFAULT_URL;
    this.url = base.replace(/\/+$/, '') + '/v1/events';
    this.timeoutMs = timeoutMs;
    this.maxQueue = maxQueue;
    this.batchSize = batchSize;
    this.intervalMs = intervalMs; // how long events may wait for a batch to fill up
    this.logger = logger;
    this.dropped = 0;
    this._queue = []; // serialised events, oldest first
    this._queued = 0; // events accepted into the queue since the start
    this._done = 0; // of those, sent or dropped
    this._waiters = []; // flush() calls waiting for _done to reach their target
    this._timer = null;
    this._timerSoon = false;
    this._sending = null; // the promise of the drain in progress
    this._warned = false;
    this._closed = false;
    this._exiting = false;
    // Node.js runs 'beforeExit' when the event loop has nothing left to do, and goes on running
    // when a listener starts new work: the queued events go out before a normal exit.
    this._onBeforeExit = () => {
      if (this._queue.length > 0) {
        this._exiting = true;
        this._drain();
      }
    };
    process.on('beforeExit', this._onBeforeExit);
  }

  /**
   * Queues one LLM call; returns at once and never throws. Times are in seconds. A field that is
   * undefined or null is left out: ttft for a call that was not streamed; inputTokens and
   * outputTokens for a call whose usage is unknown (a stream cut or closed before its usage
   * chunk, an error without a usage), which the agent counts in llm_calls_without_usage_total
   * instead of pricing it at $0.
   */
  trackLlmCall(call) {
    try {
      const { model, endpoint, inputTokens, outputTokens, latency, ttft, userId, teamId,
        status = 'success', cachedInputTokens, cacheWriteInputTokens, reasoningTokens, cache,
        costUsd, traceId, spanId } = call;
      this._enqueue({
        model, endpoint, status, input_tokens: inputTokens, output_tokens: outputTokens,
        cached_input_tokens: cachedInputTokens, cache_write_input_tokens: cacheWriteInputTokens,
        reasoning_tokens: reasoningTokens, latency, ttft, user_id: userId, team_id: teamId,
        cache, cost_usd: costUsd, trace_id: traceId, span_id: spanId,
      });
    } catch (e) { // not an object, a getter that throws ...
      this._drop(1, `not an LLM call: ${e}`);
    }
  }

  /** Queues one quality evaluation score (the agent's llm_quality_score histogram). */
  trackQualityScore(quality) {
    try {
      const { model, evaluator, score, traceId } = quality;
      this._enqueue({ type: 'quality', model, evaluator, score, trace_id: traceId });
    } catch (e) {
      this._drop(1, `not a quality score: ${e}`);
    }
  }

  /**
   * Sends every event queued so far. Resolves true when all were sent or dropped within
   * `timeoutMs`, false otherwise; never rejects.
   */
  flush(timeoutMs = 5000) {
    const target = this._queued;
    if (this._done >= target) return Promise.resolve(true);
    this._drain();
    return new Promise((resolve) => {
      const waiter = { target, resolve, timer: null };
      waiter.timer = setTimeout(() => {
        this._waiters = this._waiters.filter((w) => w !== waiter);
        resolve(false);
      }, timeoutMs);
      this._waiters.push(waiter);
    });
  }

  /**
   * Flushes, then stops: later events are dropped. Await it before process.exit() or on a
   * signal; a normal exit flushes by itself. Resolves like flush().
   */
  async close(timeoutMs = 5000) {
    if (this._closed) return this._done >= this._queued;
    this._closed = true;
    process.removeListener('beforeExit', this._onBeforeExit);
    const flushed = await this.flush(timeoutMs);
    clearTimeout(this._timer);
    this._timer = null;
    return flushed;
  }

  _enqueue(fields) {
    let line;
    try {
      const event = {};
      for (const key in fields) {
        const value = fields[key];
        if (value === undefined || value === null) continue;
        if (NUMERIC_FIELDS.includes(key) && typeof value === 'number' && !Number.isFinite(value)) {
          this._drop(1, `event not representable as JSON: ${key} is ${value}`);
          return;
        }
        event[key] = value;
      }
      line = JSON.stringify(event); // throws on a BigInt, say: that costs only this event
    } catch (e) {
      this._drop(1, `event not representable as JSON: ${e}`);
      return;
    }
    if (this._closed || this._queue.length >= this.maxQueue) {
      this._drop(1, this._closed ? 'reporter closed' : 'queue full');
      return;
    }
    this._queue.push(line);
    this._queued += 1;
    if (this._sending) return; // the drain in progress takes it
    if (this._queue.length >= this.batchSize) {
      // A full batch goes out on the next turn of the event loop, not inside the app's call.
      if (!this._timerSoon) this._schedule(0);
    } else if (this._timer === null) {
      this._schedule(this.intervalMs);
    }
  }

  _schedule(delayMs) {
    clearTimeout(this._timer);
    this._timerSoon = delayMs === 0;
    this._timer = setTimeout(() => {
      this._timer = null;
      this._drain();
    }, delayMs);
    this._timer.unref(); // never keep the app alive for metrics; 'beforeExit' flushes instead
  }

  // Sends batches until the queue is empty; one drain (and one request) at a time.
  _drain() {
    if (this._sending) return this._sending;
    clearTimeout(this._timer);
    this._timer = null;
    this._timerSoon = false;
    this._sending = (async () => {
      try {
        while (this._queue.length > 0) {
          const batch = this._queue.splice(0, this.batchSize);
          const delivered = await this._send(batch);
          if (!delivered && this._exiting && this._queue.length > 0) {
            // The app is exiting and the agent cannot be reached: do not hold the exit up for
            // one timeout per remaining batch.
            const rest = this._queue.splice(0);
            this._drop(rest.length, 'the app is exiting and the agent is unreachable',
              rest.length);
          }
        }
      } catch (e) {
        // _send handles everything it expects; this is a last resort that keeps the app alive.
        this._warn(`llm-exporter-client: unexpected error while sending: ${e}`);
      } finally {
        this._sending = null;
        this._exiting = false;
      }
    })();
    return this._sending;
  }

  // POSTs one batch; returns false when the agent could not be reached (network, timeout).
  async _send(batch) {
    const body = '[' + batch.join(',') + ']';
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), this.timeoutMs);
    timer.unref(); // the request's socket keeps the loop alive while it is pending
    let lost = batch.length;
    let why = null;
    let reached = true;
    try {
      const response = await fetch(this.url, {
        method: 'POST', body, signal: controller.signal,
        headers: { 'Content-Type': 'application/json' },
      });
      const text = await response.text();
      if (response.ok) {
        const answer = JSON.parse(text);
        const accepted = Number(answer.accepted);
        if (!Number.isInteger(accepted)) throw new Error(`the answer has no "accepted": ${text.slice(0, 100)}`);
        lost = Math.max(0, batch.length - accepted);
        if (lost) why = `agent rejected ${lost} of ${batch.length} event(s), first: ${firstError(answer)}`;
      } else {
        // 400: the agent refused every event; its answer says why, as for a partial refusal.
        why = `${this.url} answered HTTP ${response.status} ${response.statusText}` +
          refusal(text, batch.length);
      }
    } catch (e) {
      reached = false;
      const reason = controller.signal.aborted ? `no answer within ${this.timeoutMs} ms` :
        describe(e);
      why = `cannot deliver to ${this.url}: ${reason}`;
    } finally {
      clearTimeout(timer);
    }
    this._drop(lost, why, batch.length);
    return reached;
  }

  _drop(lost, why, done = 0) {
    this.dropped += lost;
    this._done += done;
    if (done) {
      this._waiters = this._waiters.filter((w) => {
        if (this._done < w.target) return true;
        clearTimeout(w.timer);
        w.resolve(true);
        return false;
      });
    }
    if (lost > 0 && !this._warned) {
      this._warn(`llm-exporter-client: dropped ${lost} LLM metric event(s): ${why} (further ` +
        'drops are logged at debug level until the agent accepts a batch again)');
    } else if (lost > 0) {
      try {
        this.logger?.debug?.(`llm-exporter-client: dropped ${lost} LLM metric event(s): ${why}`);
      } catch { /* a logger must not break the reporter */ }
    }
    this._warned = lost > 0; // a batch delivered whole re-arms the warning
  }

  _warn(message) {
    try {
      this.logger?.warn?.(message);
    } catch { /* a logger must not break the reporter */ }
  }
}

// The first refusal of an agent's answer: "message (index i, field f, reason r)".
function firstError(answer) {
  const first = Array.isArray(answer?.errors) ? answer.errors[0] : undefined;
  if (!first || typeof first !== 'object') return 'no reason given';
  const where = ['index', 'field', 'reason'].filter((k) => k in first)
    .map((k) => `${k} ${first[k]}`).join(', ');
  const message = first.message ?? '';
  return where ? `${message} (${where})` : String(message || JSON.stringify(first));
}

// What an HTTP error answer says: the agent's counts and first error when it is the agent's
// JSON answer, else the start of the body.
function refusal(text, sent) {
  let answer;
  try {
    answer = JSON.parse(text);
  } catch {
    const snippet = text.slice(0, 100).trim();
    return snippet ? ` (the answer is not JSON: ${JSON.stringify(snippet)})` : '';
  }
  if (!answer || typeof answer !== 'object' || !Array.isArray(answer.errors) ||
      answer.errors.length === 0) return '';
  return `: agent rejected ${answer.rejected ?? sent} of ${sent} event(s), first: ${firstError(answer)}`;
}

// fetch() failures are a TypeError("fetch failed") whose cause says what happened.
function describe(error) {
  const cause = error?.cause;
  return cause ? `${error.message} (${cause.code || cause.message || cause})` : String(error);
}

let defaultReporter = null;

/** The Reporter behind the module-level functions, created on first use from $LLM_EXPORTER_URL. */
export function reporter() {
  if (defaultReporter === null) defaultReporter = new Reporter();
  return defaultReporter;
}

/**
 * Replaces the module-level Reporter (closing the old one, which flushes it) and returns the new
 * one.
 */
export function configure(options = {}) {
  const old = defaultReporter;
  defaultReporter = new Reporter(options);
  if (old !== null) old.close();
  return defaultReporter;
}

/** Records an LLM call (see Reporter.trackLlmCall); returns at once and never throws. */
export function trackLlmCall(call) {
  reporter().trackLlmCall(call);
}

/** Records a quality evaluation score; returns at once and never throws. */
export function trackQualityScore(score) {
  reporter().trackQualityScore(score);
}

/** Sends everything queued so far; resolves true when all of it was sent or dropped in time. */
export function flush(timeoutMs = 5000) {
  return reporter().flush(timeoutMs);
}

/** Flushes and stops the module-level Reporter; await it before process.exit() or on a signal. */
export function close(timeoutMs = 5000) {
  return defaultReporter === null ? Promise.resolve(true) : defaultReporter.close(timeoutMs);
}
