// The openai wrapper: the official openai client (v4) calls a fake OpenAI-compatible server that
// sends its first token after a known delay; the wrapper reports to the real agent, whose metrics
// must come out exactly. The agent prices cached input tokens at their own rate, so the costs
// show that cached_tokens were read.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import OpenAI from 'openai';

import { Reporter } from '../index.js';
import { createChatCompletion, instrumentOpenAI, usageTokens } from '../openai.js';
import { Agent, LATENCY_LE, TTFT_LE, waitUntil } from '../test_support/agent.mjs';
import { FIRST_TOKEN_DELAY_MS, FakeOpenAI, STREAM_TEXT } from '../test_support/fake_openai.mjs';

const PICO = 1e-12;
const PRICES = { unit: 'usd_per_1k_tokens', models: {
  'gpt-4o': { input: 0.0025, output: 0.01, cached_input: 0.00125 },
  'gpt-4o-mini': { input: 0.00015, output: 0.0006, cached_input: 0.000075 },
} };
const DELAY_S = FIRST_TOKEN_DELAY_MS / 1000;

let agent;
let fake;
let reporter;
let warnings;
before(async () => {
  agent = new Agent();
  agent.extraArgs.push(`--pricing.file=${agent.file('prices.json', JSON.stringify(PRICES))}`);
  await agent.start();
  fake = await new FakeOpenAI().start();
  warnings = [];
  reporter = new Reporter({ url: agent.url, timeoutMs: 10_000, intervalMs: 50, logger: { warn: (m) => warnings.push(m) } });
});
after(async () => {
  await reporter?.close();
  await fake?.stop();
  await agent?.stop();
});

// A fresh client for each test, without retries: a 500 is reported once, at once.
const newClient = () => new OpenAI({ apiKey: 'sk-test', baseURL: fake.baseURL, maxRetries: 0 });
const ask = (say) => [{ role: 'user', content: say }];

// Flushes the reporter, then waits for the agent to show `count` calls of the series.
async function metricsAfter(labels, count) {
  assert.equal(await reporter.flush(10_000), true);
  return waitUntil(async () => {
    const m = await agent.scrape({ openMetrics: true });
    return m.value('llm_requests_total', labels) === count && m;
  }, { what: `llm_requests_total${JSON.stringify(labels)} == ${count}` });
}

function assertCost(m, expected, labels) {
  const value = m.value('llm_cost_usd_total', labels);
  assert.ok(value !== undefined && Math.abs(value - expected) <= PICO / 2,
    `llm_cost_usd_total${JSON.stringify(labels)}: ${value} != ${expected}`);
}

test('a call that is not streamed: usage and latency reported, no ttft, the response unchanged', async () => {
  const openai = instrumentOpenAI(newClient(), { reporter, endpoint: '/answer', userId: 'alice', teamId: 'search' });
  const first = await openai.chat.completions.create({ model: 'gpt-4o', messages: ask('hi') });
  assert.equal(first.choices[0].message.content, 'Hello, world');
  assert.deepEqual(first.usage.prompt_tokens_details, { cached_tokens: 400 });
  // .withResponse() of the client's APIPromise still works.
  const { data, response } = await openai.chat.completions.create({ model: 'gpt-4o', messages: ask('hi') }).withResponse();
  assert.equal(response.status, 200);
  assert.equal(data.usage.completion_tokens, 200);
  assert.equal(fake.requests.at(-1).stream_options, undefined); // nothing added when not streamed

  const m = await metricsAfter({ model: 'gpt-4o', endpoint: '/answer', status: 'success' }, 2);
  assert.equal(m.value('llm_tokens_total', { model: 'gpt-4o', direction: 'input' }), 2000);
  assert.equal(m.value('llm_tokens_total', { model: 'gpt-4o', direction: 'output' }), 400);
  // completion_tokens_details.reasoning_tokens, part of the output: twice 150.
  assert.equal(m.value('llm_tokens_by_kind_total', { model: 'gpt-4o', kind: 'reasoning' }), 300);
  assert.equal(m.value('llm_tokens_by_kind_total', { model: 'gpt-4o', kind: 'cache_read' }), 800);
  // Twice (600 * 0.0025 + 400 * 0.00125 + 200 * 0.01) / 1000: 400 of the 1000 input tokens were cached.
  assertCost(m, 2 * 0.004, { model: 'gpt-4o', user_id: 'alice', team_id: 'search' });
  assert.deepEqual(m.buckets('llm_request_duration_seconds', LATENCY_LE, { model: 'gpt-4o', endpoint: '/answer' }),
    [2, 2, 2, 2, 2, 2, 2, 2]);
  // No ttft for calls that were not streamed: gpt-4o has no llm_ttft_seconds series at all.
  assert.equal(m.samples.filter((s) => s.name.startsWith('llm_ttft_seconds') && s.labels.model === 'gpt-4o').length, 0);
});

test('a streamed call: ttft from the first content chunk, usage from the final chunk, chunks unchanged', async () => {
  const openai = instrumentOpenAI(newClient(), { reporter, endpoint: '/stream', userId: 'bob', teamId: 'support',
    traceId: 'trace-stream-1' });
  const stream = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: ask('hi'), stream: true });
  assert.equal(typeof stream.controller?.abort, 'function');
  assert.equal(typeof stream.tee, 'function'); // still the openai Stream class
  const chunks = [];
  for await (const chunk of stream) chunks.push(chunk);
  // The usage chunk the wrapper asked for is not passed on: the app did not ask for it.
  assert.deepEqual(chunks.map((c) => c.choices[0].delta.content ?? null), ['', ...STREAM_TEXT, null]);
  assert.deepEqual(fake.requests.at(-1).stream_options, { include_usage: true });

  const labels = { model: 'gpt-4o-mini', endpoint: '/stream', status: 'success' };
  const m = await metricsAfter(labels, 1);
  assert.equal(m.find('llm_requests_total', labels).exemplar.labels.trace_id, 'trace-stream-1');
  assert.equal(m.value('llm_tokens_total', { model: 'gpt-4o-mini', direction: 'input' }), 120);
  assert.equal(m.value('llm_tokens_total', { model: 'gpt-4o-mini', direction: 'output' }), 3);
  assert.equal(m.value('llm_tokens_by_kind_total', { model: 'gpt-4o-mini', kind: 'reasoning' }), 2);
  assert.equal(m.value('llm_calls_without_usage_total', { model: 'gpt-4o-mini', transport: 'http' }), undefined);
  // (20 * 0.00015 + 100 * 0.000075 + 3 * 0.0006) / 1000
  assertCost(m, 0.0000123, { model: 'gpt-4o-mini', user_id: 'bob', team_id: 'support' });
  // The first token comes 0.3 s after the request: ttft in (0.25, 0.5], and at least the delay.
  assert.deepEqual(m.buckets('llm_ttft_seconds', TTFT_LE, { model: 'gpt-4o-mini' }), [0, 0, 1, 1, 1, 1, 1]);
  assert.equal(m.value('llm_ttft_seconds_count', { model: 'gpt-4o-mini' }), 1);
  const ttft = m.value('llm_ttft_seconds_sum', { model: 'gpt-4o-mini' });
  assert.ok(ttft >= DELAY_S, `ttft ${ttft} < ${DELAY_S}`);
  const exemplar = m.find('llm_ttft_seconds_bucket', { model: 'gpt-4o-mini', le: '0.5' }).exemplar;
  assert.deepEqual(exemplar, { labels: { trace_id: 'trace-stream-1' }, value: ttft });
  assert.deepEqual(m.buckets('llm_request_duration_seconds', LATENCY_LE, { model: 'gpt-4o-mini', endpoint: '/stream' }),
    [0, 1, 1, 1, 1, 1, 1, 1]);
  const latency = m.value('llm_request_duration_seconds_sum', { model: 'gpt-4o-mini', endpoint: '/stream' });
  assert.ok(latency >= ttft, `latency ${latency} < ttft ${ttft}`);
});

test('the app\'s own stream_options are kept, and its usage chunk passed on when it asked', async () => {
  const client = newClient();
  const context = { reporter, endpoint: '/own-options', userId: 'carol', teamId: 'search' };
  const stream = await createChatCompletion(client, { model: 'gpt-4o-mini', messages: ask('hi'), stream: true,
    stream_options: { include_obfuscation: false } }, context);
  for await (const chunk of stream) void chunk;
  assert.deepEqual(fake.requests.at(-1).stream_options, { include_obfuscation: false, include_usage: true });

  const asked = await createChatCompletion(client, { model: 'gpt-4o-mini', messages: ask('hi'), stream: true,
    stream_options: { include_usage: true } }, context);
  const chunks = [];
  for await (const chunk of asked) chunks.push(chunk);
  assert.deepEqual(chunks.at(-1).choices, []);
  assert.equal(chunks.at(-1).usage.prompt_tokens, 120);
  assert.equal(client.chat.completions.create.name, 'create'); // createChatCompletion patches nothing

  const m = await metricsAfter({ model: 'gpt-4o-mini', endpoint: '/own-options', status: 'success' }, 2);
  assertCost(m, 2 * 0.0000123, { model: 'gpt-4o-mini', user_id: 'carol', team_id: 'search' });
});

test('an HTTP 500: reported as an error, and the client\'s error reaches the app unchanged', async () => {
  const contexts = [];
  const openai = instrumentOpenAI(newClient(), (params) => {
    contexts.push(params.model);
    return { reporter, endpoint: '/fail', userId: 'dave', teamId: 'ops', traceId: 'trace-fail' };
  });
  await assert.rejects(openai.chat.completions.create({ model: 'gpt-4o', messages: ask('fail') }), (error) => {
    assert.ok(error instanceof OpenAI.APIError, String(error));
    assert.equal(error.status, 500);
    assert.equal(error.message, '500 the fake fails as asked');
    return true;
  });
  await assert.rejects(openai.chat.completions.create({ model: 'gpt-4o', messages: ask('fail'), stream: true }),
    (error) => error instanceof OpenAI.InternalServerError);
  assert.deepEqual(contexts, ['gpt-4o', 'gpt-4o']);

  const labels = { model: 'gpt-4o', endpoint: '/fail', status: 'error' };
  const m = await metricsAfter(labels, 2);
  assert.equal(m.value('llm_requests_total', { ...labels, status: 'success' }), undefined);
  assert.equal(m.find('llm_requests_total', labels).exemplar.labels.trace_id, 'trace-fail');
  assert.equal(m.value('llm_cost_usd_total', { model: 'gpt-4o', user_id: 'dave', team_id: 'ops' }), 0);
  // Neither failed call had a usage: reported without token counts, as calls of unknown cost.
  assert.equal(m.value('llm_calls_without_usage_total', { model: 'gpt-4o', transport: 'http' }), 2);
  assert.equal(m.value('llm_request_duration_seconds_count', { model: 'gpt-4o', endpoint: '/fail' }), 2);
  // The failed stream never sent a token: no ttft.
  assert.equal(m.samples.filter((s) => s.name.startsWith('llm_ttft_seconds') && s.labels.model === 'gpt-4o').length, 0);
});

test('a stream cut midway: reported as an error with its ttft, the error re-thrown', async () => {
  const openai = instrumentOpenAI(newClient(), { reporter, endpoint: '/cut', userId: 'erin', teamId: 'ops' });
  const stream = await openai.chat.completions.create({ model: 'claude-sonnet-4-20250514', messages: ask('cut'), stream: true });
  const seen = [];
  await assert.rejects(async () => {
    for await (const chunk of stream) seen.push(chunk.choices[0]?.delta.content);
  });
  assert.deepEqual(seen, ['', STREAM_TEXT[0]]);

  const m = await metricsAfter({ model: 'claude-sonnet-4-20250514', endpoint: '/cut', status: 'error' }, 1);
  assert.equal(m.value('llm_tokens_total', { model: 'claude-sonnet-4-20250514', direction: 'input' }), 0);
  // Cut before its usage chunk: a call without usage, not a free one.
  assert.equal(m.value('llm_calls_without_usage_total', { model: 'claude-sonnet-4-20250514', transport: 'http' }), 1);
  assert.deepEqual(m.buckets('llm_ttft_seconds', TTFT_LE, { model: 'claude-sonnet-4-20250514' }), [0, 0, 1, 1, 1, 1, 1]);
  assert.ok(m.value('llm_ttft_seconds_sum', { model: 'claude-sonnet-4-20250514' }) >= DELAY_S);
});

test('a stream the app stops reading: reported as "cancelled" with its ttft, the request aborted', async () => {
  const openai = instrumentOpenAI(newClient(), { reporter, endpoint: '/abandon', userId: 'frank', teamId: 'ops' });
  const stream = await openai.chat.completions.create({ model: 'gpt-4.1-nano', messages: ask('hi'), stream: true });
  for await (const chunk of stream) {
    if (chunk.choices[0]?.delta.content) break; // the user pressed "stop"
  }
  assert.equal(stream.controller.signal.aborted, true);
  // Aborted through the controller before the first token: cancelled too, without a ttft.
  const early = await openai.chat.completions.create({ model: 'gpt-4.1-nano', messages: ask('hi'), stream: true });
  for await (const chunk of early) {
    early.controller.abort();
    void chunk;
  }

  const m = await metricsAfter({ model: 'gpt-4.1-nano', endpoint: '/abandon', status: 'cancelled' }, 2);
  assert.equal(m.value('llm_tokens_total', { model: 'gpt-4.1-nano', direction: 'output' }), 0);
  // Both stopped before the usage chunk: their usage is unknown, not 0.
  assert.equal(m.value('llm_calls_without_usage_total', { model: 'gpt-4.1-nano', transport: 'http' }), 2);
  assert.deepEqual(m.buckets('llm_ttft_seconds', TTFT_LE, { model: 'gpt-4.1-nano' }), [0, 0, 1, 1, 1, 1, 1]);
  assert.ok(m.value('llm_ttft_seconds_sum', { model: 'gpt-4.1-nano' }) >= DELAY_S);
  assert.deepEqual(warnings, []);
  assert.equal(reporter.dropped, 0);
});

test('usageTokens: no usage gives no token counts; the parts only when they fit', () => {
  assert.deepEqual(usageTokens(undefined), { inputTokens: undefined, outputTokens: undefined,
    cachedInputTokens: undefined, reasoningTokens: undefined });
  assert.deepEqual(usageTokens({ prompt_tokens: 10, completion_tokens: 40,
    prompt_tokens_details: { cached_tokens: 8 }, completion_tokens_details: { reasoning_tokens: 32 } }),
  { inputTokens: 10, outputTokens: 40, cachedInputTokens: 8, reasoningTokens: 32 });
  const parts = (usage) => {
    const { cachedInputTokens, reasoningTokens } = usageTokens(usage);
    return [cachedInputTokens, reasoningTokens];
  };
  // 0, above the count it is part of, not a whole number, or the count unknown: left out
  // (cached above the input is capped, as a gateway may count them apart).
  assert.deepEqual(parts({ prompt_tokens: 10, completion_tokens: 40, completion_tokens_details: { reasoning_tokens: 0 } }),
    [undefined, undefined]);
  assert.deepEqual(parts({ prompt_tokens: 10, completion_tokens: 40, prompt_tokens_details: { cached_tokens: 12 },
    completion_tokens_details: { reasoning_tokens: 41 } }), [10, undefined]);
  assert.deepEqual(parts({ prompt_tokens: 10, completion_tokens: 40, completion_tokens_details: { reasoning_tokens: 1.5 } }),
    [undefined, undefined]);
  assert.deepEqual(parts({ prompt_tokens_details: { cached_tokens: 4 }, completion_tokens_details: { reasoning_tokens: 5 } }),
    [undefined, undefined]);
  // One count alone is a known usage (the agent takes the other as 0); no valid count is none.
  assert.deepEqual(usageTokens({ completion_tokens: 7 }).outputTokens, 7);
  assert.deepEqual(usageTokens({ prompt_tokens: -1, completion_tokens: '7' }), { inputTokens: undefined,
    outputTokens: undefined, cachedInputTokens: undefined, reasoningTokens: undefined });
});
