// Types of openai.js: latency, TTFT and usage of the official openai client's chat completions.
// Only types come from `openai` (its v4 declarations); the app brings the client.
import type OpenAI from 'openai';
import type { APIPromise, RequestOptions } from 'openai/core';
import type {
  ChatCompletion, ChatCompletionChunk, ChatCompletionCreateParamsBase,
  ChatCompletionCreateParamsNonStreaming, ChatCompletionCreateParamsStreaming,
} from 'openai/resources/chat/completions/completions';
import type { Stream } from 'openai/streaming';
import type { LlmCall, Reporter } from './index.js';

/** Who and what one call is for; every field is optional. */
export interface CallContext {
  /** Default: the module-level reporter of llm-exporter-client. */
  reporter?: Reporter;
  endpoint?: string;
  userId?: string;
  teamId?: string;
  traceId?: string;
  spanId?: string;
}

/** A context, or a function returning the context of each call (e.g. from AsyncLocalStorage). */
export type ContextSource = CallContext | ((params: ChatCompletionCreateParamsBase) => CallContext | undefined);

/**
 * From now on reports every `client.chat.completions.create` call of this client; returns the
 * same client. Each call returns exactly what the client returns.
 */
export function instrumentOpenAI<C extends OpenAI>(client: C, context?: ContextSource): C;

/**
 * One reported `client.chat.completions.create(params, options)` call, without patching the
 * client; returns what that call returns.
 */
export function createChatCompletion(client: OpenAI, params: ChatCompletionCreateParamsNonStreaming,
  context?: CallContext, options?: RequestOptions): APIPromise<ChatCompletion>;
export function createChatCompletion(client: OpenAI, params: ChatCompletionCreateParamsStreaming,
  context?: CallContext, options?: RequestOptions): APIPromise<Stream<ChatCompletionChunk>>;
export function createChatCompletion(client: OpenAI, params: ChatCompletionCreateParamsBase,
  context?: CallContext, options?: RequestOptions): APIPromise<Stream<ChatCompletionChunk> | ChatCompletion>;

/**
 * The token fields the wrapper reports for a call with this `usage`: none without one (its usage
 * is unknown), else prompt_tokens, completion_tokens, prompt_tokens_details.cached_tokens and
 * completion_tokens_details.reasoning_tokens (the last two when above 0 and fitting in their
 * count).
 */
export function usageTokens(usage: ChatCompletion['usage'] | null | undefined):
  Pick<LlmCall, 'inputTokens' | 'outputTokens' | 'cachedInputTokens' | 'reasoningTokens'>;
