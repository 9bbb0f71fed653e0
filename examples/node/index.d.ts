// Types of index.js: the reporter that sends LLM-call events to the llm_exporter agent.

/** Where warnings go; `debug` (optional) receives the drops after the first of an outage. */
export interface Logger {
  warn(message: string): void;
  debug?(message: string): void;
}

export interface ReporterOptions {
  /** The agent's base URL; default $LLM_EXPORTER_URL, else http://127.0.0.1:9778. */
  url?: string;
  /** How long one POST may take before its batch is dropped (default 2000). */
  timeoutMs?: number;
  /** Most events waiting to be sent; past it new events are dropped (default 10000). */
  maxQueue?: number;
  /** Most events in one POST; a full batch is sent at once (default 500). */
  batchSize?: number;
  /** How long events may wait for a batch to fill up (default 500). */
  intervalMs?: number;
  /** Default `console`. */
  logger?: Logger;
}

/** One LLM call, as the seed's track_llm_call. Times are in seconds. */
export interface LlmCall {
  model: string;
  /** Your app's endpoint or feature. */
  endpoint?: string;
  /**
   * The call's input and output token counts. Leave both out (or null) when the usage is unknown
   * (a stream cut or closed before its usage chunk, an error without a usage): the agent counts
   * the call in llm_calls_without_usage_total instead of pricing it at $0. One alone is a known
   * usage whose other count is 0.
   */
  inputTokens?: number | null;
  outputTokens?: number | null;
  /** Seconds from sending the request to its last byte (or the error). */
  latency: number;
  /** Seconds to the first output token; leave it out (or null) when not measured. */
  ttft?: number | null;
  userId?: string;
  teamId?: string;
  /** "success" (default) or "error"; the openai wrapper also reports "cancelled". */
  status?: string;
  /** The part of inputTokens the provider served from its prompt cache. */
  cachedInputTokens?: number;
  /** The part of inputTokens written to the prompt cache (priced at the cache-write rate). */
  cacheWriteInputTokens?: number;
  /** The part of outputTokens spent on reasoning (priced as output). */
  reasoningTokens?: number;
  cache?: 'hit' | 'miss';
  /** A cost you already know, in USD; replaces the agent's pricing. */
  costUsd?: number;
  /** Becomes the exemplar of the series and buckets the call lands in. */
  traceId?: string;
  spanId?: string;
}

export interface QualityScore {
  model: string;
  evaluator: string;
  score: number;
  traceId?: string;
}

export const DEFAULT_URL: string;

/** Queues events and sends them in batches; never throws into the app, never keeps it alive. */
export class Reporter {
  constructor(options?: ReporterOptions);
  /** The agent's /v1/events URL this reporter posts to. */
  readonly url: string;
  /** Events that never reached the agent's metrics (queue full, agent down or refusing, bad values). */
  readonly dropped: number;
  /** Queues one LLM call; returns at once and never throws. */
  trackLlmCall(call: LlmCall): void;
  /** Queues one quality evaluation score; returns at once and never throws. */
  trackQualityScore(score: QualityScore): void;
  /** Sends everything queued so far; true when all of it was sent or dropped within timeoutMs (default 5000). */
  flush(timeoutMs?: number): Promise<boolean>;
  /** Flushes, then stops: later events are dropped. Await it before process.exit() or on a signal. */
  close(timeoutMs?: number): Promise<boolean>;
}

/** The Reporter behind the module-level functions, created on first use. */
export function reporter(): Reporter;
/** Replaces the module-level Reporter (closing the old one) and returns the new one. */
export function configure(options?: ReporterOptions): Reporter;
export function trackLlmCall(call: LlmCall): void;
export function trackQualityScore(score: QualityScore): void;
export function flush(timeoutMs?: number): Promise<boolean>;
export function close(timeoutMs?: number): Promise<boolean>;
