// Measures the calls an app makes through the official `openai` client (v4) and reports each to
// llm_exporter: latency, time to first token on streams, and the usage the response carries.
//
//   import OpenAI from 'openai';
//   import { instrumentOpenAI } from 'llm-exporter-client/openai';
//   const openai = instrumentOpenAI(new OpenAI(), { endpoint: '/chat', teamId: 'search' });
//
// This module never imports `openai`: it wraps the client the app passes in.
import { reporter as defaultReporter } from './index.js';

const INSTRUMENTED = Symbol.for('llm-exporter-client.instrumented');

/**
 * Reports every `client.chat.completions.create` call of this client instance from now on, and
 * returns the client. `context` is an object, or a function called at each call that returns one
 * (e.g. reading an AsyncLocalStorage holding the request's user and trace). Instrumenting the
 * same client again replaces its context.
 */
export function instrumentOpenAI(client, context = {}) {
  const completions = client?.chat?.completions;
  if (!completions || typeof completions.create !== 'function') {
    throw new TypeError('instrumentOpenAI: expected an OpenAI client (client.chat.completions.create)');
  }
  const create = completions.create[INSTRUMENTED] ?? completions.create;
  const instrumented = function create_(params, options) {
    return measuredCreate(create, completions, params, options, resolveContext(context, params));
  };
  instrumented[INSTRUMENTED] = create;
  completions.create = instrumented;
  return client;
}

/**
 * One reported `client.chat.completions.create(params, options)` call, for apps that would
 * rather not patch the client; returns what the client returns.
 */
export function createChatCompletion(client, params, context = {}, options) {
  const completions = client.chat.completions;
  const create = completions.create[INSTRUMENTED] ?? completions.create;
  return measuredCreate(create, completions, params, options, context);
}

function resolveContext(context, params) {
  try {
    return (typeof context === 'function' ? context(params) : context) ?? {};
  } catch {
    return {}; // a context provider that throws costs the labels, not the call
  }
}

// Calls the client's own create() and returns exactly what it returns: the same APIPromise for a
// call that is not streamed; for a stream, an APIPromise of the same Stream class whose chunks
// are observed on their way to the app.
function measuredCreate(create, completions, params, options, context) {
  const streamed = params?.stream === true;
  const call = new CallMeasure(params, context, streamed);
  let sentParams = params;
  let hideUsageChunk = false;
  if (streamed && params.stream_options?.include_usage !== true) {
    // Ask for the final usage chunk, keeping the app's other stream options; the app did not
    // ask for that chunk, so it is held back from the app.
    sentParams = { ...params, stream_options: { ...params.stream_options, include_usage: true } };
    hideUsageChunk = true;
  }

  let promise;
  try {
    promise = create.call(completions, sentParams, options);
  } catch (error) { // a synchronous throw (bad arguments): report it and throw it unchanged
    call.finish('error');
    throw error;
  }
  if (!promise || typeof promise.then !== 'function') return promise;

  if (!streamed) {
    // A side branch observes the outcome; the app awaits the very promise create() returned
    // (its parse is memoised, so the response is read once).
    promise.then((completion) => {
      call.observeUsage(completion?.usage);
      call.finish('success');
    }, () => call.finish('error'));
    return promise;
  }

  const wrap = (stream) => observeStream(stream, call, hideUsageChunk);
  // openai v4's APIPromise keeps .withResponse() and .asResponse() through _thenUnwrap.
  const wrapped = typeof promise._thenUnwrap === 'function' ? promise._thenUnwrap(wrap) :
    promise.then(wrap);
  wrapped.then(undefined, () => call.finish('error')); // the request itself failed
  return wrapped;
}

// A Stream like the one given (same class, same controller: tee(), toReadableStream() and
// controller.abort() keep working) whose chunks pass through `call` on their way to the app.
function observeStream(stream, call, hideUsageChunk) {
  if (!stream || typeof stream[Symbol.asyncIterator] !== 'function') {
    call.finish('success');
    return stream;
  }
  async function* chunks() {
    let outcome = 'cancelled';
    try {
      for await (const chunk of stream) {
        call.observeChunk(chunk);
        const usageOnly = chunk?.usage && Array.isArray(chunk.choices) && chunk.choices.length === 0;
        if (!(hideUsageChunk && usageOnly)) yield chunk;
      }
      // openai's Stream ends quietly when stream.controller.abort() was called.
      outcome = stream.controller?.signal?.aborted ? 'cancelled' : 'success';
    } catch (error) {
      outcome = 'error';
      throw error;
    } finally {
      // 'cancelled' here: the app stopped reading (break, return, a throw in its loop body).
      call.finish(outcome);
    }
  }
  const Stream = stream.constructor;
  try {
    return new Stream(chunks, stream.controller);
  } catch {
    return { [Symbol.asyncIterator]: chunks, controller: stream.controller };
  }
}

// What is known so far about one call; reports it once, on finish().
class CallMeasure {
  constructor(params, context, streamed) {
    this.start = performance.now();
    this.params = params;
    this.context = context;
    this.streamed = streamed;
    this.ttft = undefined;
    this.usage = undefined;
    this.finished = false;
  }

  observeChunk(chunk) {
    try {
      if (this.ttft === undefined && hasOutput(chunk)) {
        this.ttft = (performance.now() - this.start) / 1000;
      }
      if (chunk?.usage) this.observeUsage(chunk.usage);
    } catch { /* an odd chunk costs its measure, never the app's stream */ }
  }

  observeUsage(usage) {
    if (usage && typeof usage === 'object') this.usage = usage;
  }

  finish(status) {
    if (this.finished) return;
    this.finished = true;
    try {
      const latency = (performance.now() - this.start) / 1000;
      const { reporter = defaultReporter(), endpoint, userId, teamId, traceId, spanId } =
        this.context;
      reporter.trackLlmCall({
        model: String(this.params?.model ?? ''),
        endpoint, userId, teamId, traceId, spanId, status, latency,
        ttft: this.streamed ? this.ttft : undefined,
        ...usageTokens(this.usage),
      });
    } catch { /* reporting never throws into the app */ }
  }
}

// The token fields of a call from its usage. Without a usage (it never arrived: an HTTP or
// network error, a stream cut or closed before its usage chunk) there are none, so the agent
// counts the call as one whose usage is unknown rather than as 0 tokens costing $0. A part
// (cached, reasoning) is kept only when it fits in the count it is part of: cached is capped at
// the input, as a gateway may count them apart; reasoning above the output is a malformed usage,
// left out rather than have the agent refuse the whole call.
export function usageTokens(usage) {
  const inputTokens = count(usage?.prompt_tokens);
  const outputTokens = count(usage?.completion_tokens);
  const cached = count(usage?.prompt_tokens_details?.cached_tokens) ?? 0;
  const reasoning = count(usage?.completion_tokens_details?.reasoning_tokens) ?? 0;
  return {
    inputTokens, outputTokens,
    cachedInputTokens: cached > 0 && inputTokens !== undefined ?
      Math.min(cached, inputTokens) : undefined,
    reasoningTokens: reasoning > 0 && outputTokens !== undefined && reasoning <= outputTokens ?
      reasoning : undefined,
  };
}

// A token count as the agent takes it (a whole number, here up to 2^53 - 1), else undefined.
function count(value) {
  return Number.isSafeInteger(value) && value >= 0 ? value : undefined;
}

// True for the first chunk that carries output: text, a refusal, or a tool or function call.
function hasOutput(chunk) {
  const choices = chunk?.choices;
  if (!Array.isArray(choices)) return false;
  for (const choice of choices) {
    const delta = choice?.delta;
    if (!delta) continue;
    if ((typeof delta.content === 'string' && delta.content.length > 0) ||
        (typeof delta.refusal === 'string' && delta.refusal.length > 0) ||
        (Array.isArray(delta.tool_calls) && delta.tool_calls.length > 0) ||
        delta.function_call) return true;
  }
  return false;
}
