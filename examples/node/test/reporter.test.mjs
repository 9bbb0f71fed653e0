// The reporter against the real agent: exact metric values for what it sends, and its guarantees
// when the agent is down, hanging or refusing events, when the queue is full, and at exit.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import { after, before, test } from 'node:test';

import * as llm from '../index.js';
import { Reporter } from '../index.js';
import { Agent, LATENCY_LE, NODE_DIR, QUALITY_LE, TTFT_LE, freePort, waitUntil } from '../test_support/agent.mjs';

const GPT4O = 'gpt-4o';
const MINI = 'gpt-4o-mini';
const SONNET = 'claude-sonnet-4-20250514';
const NO_USAGE_MODEL = 'gpt-4.1-nano'; // only the call without usage: its own series
const PICO = 1e-12; // the agent accumulates costs in whole pico-dollars
// The request timeout towards the real agent: generous, for a sanitizer build of it.
const SLOW_AGENT_MS = 10_000;

/** A logger that records warnings, for asserting one warning per outage. */
function recordingLogger() {
  const logger = { warnings: [], debugs: [] };
  logger.warn = (m) => logger.warnings.push(m);
  logger.debug = (m) => logger.debugs.push(m);
  return logger;
}

function assertCost(metrics, expected, labels) {
  const value = metrics.value('llm_cost_usd_total', labels);
  assert.notEqual(value, undefined, `no llm_cost_usd_total${JSON.stringify(labels)}`);
  assert.ok(Math.abs(value - expected) <= PICO / 2, `llm_cost_usd_total${JSON.stringify(labels)}: ${value} != ${expected}`);
}

function assertHistogram(metrics, name, bounds, cumulative, sum, labels) {
  assert.deepEqual(metrics.buckets(name, bounds, labels), cumulative, `${name}_bucket${JSON.stringify(labels)}`);
  assert.equal(metrics.value(`${name}_count`, labels), cumulative.at(-1), `${name}_count`);
  assert.ok(Math.abs(metrics.value(`${name}_sum`, labels) - sum) < 1e-9, `${name}_sum${JSON.stringify(labels)}`);
}

let agent;
before(async () => { agent = await new Agent().start(); });
after(async () => { await agent?.stop(); });

// Each test sends its own series (its own endpoint or model), so they share one agent.
async function settled(name, labels, expected) {
  return waitUntil(async () => {
    const m = await agent.scrape();
    return m.value(name, labels) === expected && m;
  }, { what: `${name}${JSON.stringify(labels)} == ${expected}` });
}

test('the module-level functions produce exact metrics, with the trace id as exemplar', async () => {
  const logger = recordingLogger();
  const r = llm.configure({ url: agent.url, timeoutMs: SLOW_AGENT_MS, logger });
  try {
    llm.trackLlmCall({ model: GPT4O, endpoint: '/chat', inputTokens: 1000, outputTokens: 500,
      reasoningTokens: 200, latency: 0.25, ttft: 0.08, userId: 'alice', teamId: 'search',
      traceId: 'trace-node-1', spanId: 'span-1' });
    llm.trackLlmCall({ model: GPT4O, endpoint: '/chat', inputTokens: 10, outputTokens: 0,
      latency: 1.5, ttft: null, userId: 'alice', teamId: 'search', status: 'error' });
    llm.trackLlmCall({ model: SONNET, endpoint: '/rag', inputTokens: 2000, outputTokens: 300,
      latency: 6.0, ttft: 0.4, userId: 'bob', teamId: 'research', cache: 'hit',
      cachedInputTokens: 1500, cacheWriteInputTokens: 400, costUsd: 0.25 });
    // A call whose usage is unknown (its stream was cut before the usage chunk): no token counts.
    llm.trackLlmCall({ model: NO_USAGE_MODEL, endpoint: '/chat', latency: 0.3, userId: 'carol',
      teamId: 'ops', status: 'error' });
    llm.trackQualityScore({ model: GPT4O, evaluator: 'human', score: 5 });
    llm.trackQualityScore({ model: GPT4O, evaluator: 'human', score: 2.5, traceId: 'trace-node-q' });
    assert.equal(await llm.flush(10_000), true);
    assert.equal(r.dropped, 0);
    assert.deepEqual(logger.warnings, []);
  } finally {
    await llm.close();
  }
  const m = await settled('llm_quality_score_count', { model: GPT4O, evaluator: 'human' }, 2);

  assert.equal(m.value('llm_requests_total', { model: GPT4O, endpoint: '/chat', status: 'success' }), 1);
  assert.equal(m.value('llm_requests_total', { model: GPT4O, endpoint: '/chat', status: 'error' }), 1);
  assert.equal(m.value('llm_requests_total', { model: SONNET, endpoint: '/rag', status: 'success' }), 1);
  assert.equal(m.value('llm_tokens_total', { model: GPT4O, direction: 'input' }), 1010);
  assert.equal(m.value('llm_tokens_total', { model: GPT4O, direction: 'output' }), 500);
  assert.equal(m.value('llm_tokens_total', { model: SONNET, direction: 'input' }), 2000);
  assert.equal(m.value('llm_tokens_total', { model: SONNET, direction: 'output' }), 300);
  assert.equal(m.value('llm_tokens_by_kind_total', { model: GPT4O, kind: 'reasoning' }), 200);
  assert.equal(m.value('llm_tokens_by_kind_total', { model: SONNET, kind: 'cache_read' }), 1500);
  assert.equal(m.value('llm_tokens_by_kind_total', { model: SONNET, kind: 'cache_write' }), 400);
  // The call without usage: a call like any other, counted apart from the free ones, priced at 0.
  assert.equal(m.value('llm_requests_total', { model: NO_USAGE_MODEL, endpoint: '/chat', status: 'error' }), 1);
  assert.equal(m.value('llm_calls_without_usage_total', { model: NO_USAGE_MODEL, transport: 'http' }), 1);
  assert.equal(m.value('llm_calls_without_usage_total', { model: GPT4O, transport: 'http' }), undefined);
  assert.equal(m.value('llm_tokens_total', { model: NO_USAGE_MODEL, direction: 'input' }), 0);
  assertCost(m, 0, { model: NO_USAGE_MODEL, user_id: 'carol', team_id: 'ops' });
  // (1000 * 0.0025 + 500 * 0.01) / 1000 + 10 * 0.0025 / 1000
  assertCost(m, 0.007525, { model: GPT4O, user_id: 'alice', team_id: 'search' });
  assertCost(m, 0.25, { model: SONNET, user_id: 'bob', team_id: 'research' }); // its own cost_usd
  assertHistogram(m, 'llm_request_duration_seconds', LATENCY_LE, [0, 1, 1, 2, 2, 2, 2, 2], 1.75,
    { model: GPT4O, endpoint: '/chat' });
  assertHistogram(m, 'llm_request_duration_seconds', LATENCY_LE, [0, 0, 0, 0, 0, 1, 1, 1], 6.0,
    { model: SONNET, endpoint: '/rag' });
  // ttft: null is left out, so only the first gpt-4o call is observed.
  assertHistogram(m, 'llm_ttft_seconds', TTFT_LE, [1, 1, 1, 1, 1, 1, 1], 0.08, { model: GPT4O });
  assertHistogram(m, 'llm_ttft_seconds', TTFT_LE, [0, 0, 1, 1, 1, 1, 1], 0.4, { model: SONNET });
  assertHistogram(m, 'llm_quality_score', QUALITY_LE, [0, 0, 1, 1, 2, 2], 7.5, { model: GPT4O, evaluator: 'human' });
  assert.equal(m.value('llm_cache_hits_total', { model: SONNET }), 1);

  const om = await agent.scrape({ openMetrics: true });
  const requests = om.find('llm_requests_total', { model: GPT4O, endpoint: '/chat', status: 'success' });
  assert.deepEqual(requests.exemplar, { labels: { trace_id: 'trace-node-1', span_id: 'span-1' }, value: 1 });
  const ttft = om.find('llm_ttft_seconds_bucket', { model: GPT4O, le: '0.1' });
  assert.deepEqual(ttft.exemplar, { labels: { trace_id: 'trace-node-1', span_id: 'span-1' }, value: 0.08 });
});

test('bad values are dropped alone; a partly refused batch counts the refused events', async () => {
  const logger = recordingLogger();
  const r = new Reporter({ url: agent.url, timeoutMs: SLOW_AGENT_MS, intervalMs: 60_000, logger });
  const call = { model: MINI, endpoint: '/bad-values', inputTokens: 10, outputTokens: 20, latency: 0.3,
    userId: 'u', teamId: 't' };
  try {
    r.trackLlmCall({ ...call, latency: NaN }); // JSON cannot carry it: dropped here
    r.trackLlmCall({ ...call, outputTokens: 10n }); // a BigInt: JSON.stringify throws, dropped here
    r.trackLlmCall(null); // not an object: dropped, no throw
    r.trackLlmCall({ ...call, inputTokens: -5 }); // the agent refuses it
    r.trackLlmCall(call);
    assert.equal(r.dropped, 3);
    assert.equal(await r.flush(10_000), true);
    assert.equal(r.dropped, 4);
  } finally {
    await r.close();
  }
  assert.equal(logger.warnings.length, 1, logger.warnings.join('\n'));
  assert.match(logger.warnings[0], /^llm-exporter-client: dropped 1 LLM metric event\(s\): event not representable as JSON: latency is NaN/);
  assert.equal(logger.debugs.length, 3);
  assert.match(logger.debugs[2], /agent rejected 1 of 2 event\(s\), first: event 0: input_tokens must be a non-negative integer, got -5 \(index 0, field input_tokens, reason invalid_value\)/);
  const m = await settled('llm_requests_total', { model: MINI, endpoint: '/bad-values', status: 'success' }, 1);
  assert.equal(m.value('llm_exporter_events_rejected_total', { transport: 'http', reason: 'invalid_value' }), 1);
});

test('a batch the agent refuses whole is dropped and its first error logged', async () => {
  const logger = recordingLogger();
  const r = new Reporter({ url: agent.url, timeoutMs: SLOW_AGENT_MS, intervalMs: 60_000, logger });
  try {
    r.trackLlmCall({ model: MINI, endpoint: '/refused', inputTokens: 10, outputTokens: -7, latency: 0.3 });
    assert.equal(await r.flush(10_000), true);
  } finally {
    await r.close();
  }
  assert.equal(r.dropped, 1);
  assert.deepEqual(logger.warnings, [`llm-exporter-client: dropped 1 LLM metric event(s): ${agent.url}/v1/events ` +
    'answered HTTP 400 Bad Request: agent rejected 1 of 1 event(s), first: event 0: output_tokens must ' +
    'be a non-negative integer, got -7 (index 0, field output_tokens, reason invalid_value) (further ' +
    'drops are logged at debug level until the agent accepts a batch again)']);
});

test('a full queue drops the newest events; the queued ones arrive', async () => {
  const logger = recordingLogger();
  const r = new Reporter({ url: agent.url, timeoutMs: SLOW_AGENT_MS, maxQueue: 5, intervalMs: 60_000, logger });
  try {
    for (let i = 0; i < 20; i++) {
      r.trackLlmCall({ model: MINI, endpoint: '/queue-full', inputTokens: i, outputTokens: 1, latency: 0.2 });
    }
    assert.equal(r.dropped, 15);
    assert.equal(await r.flush(10_000), true);
    assert.equal(r.dropped, 15);
  } finally {
    await r.close();
  }
  assert.equal(logger.warnings.length, 1);
  assert.match(logger.warnings[0], /dropped 1 LLM metric event\(s\): queue full/);
  const m = await settled('llm_requests_total', { model: MINI, endpoint: '/queue-full', status: 'success' }, 5);
  assert.equal(m.value('llm_request_duration_seconds_count', { model: MINI, endpoint: '/queue-full' }), 5);
});

test('events go out in batches of batchSize, as JSON arrays with the agent\'s field names', async () => {
  const bodies = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      bodies.push({ path: req.url, type: req.headers['content-type'], events: JSON.parse(body) });
      res.writeHead(200, { 'Content-Type': 'application/json' })
        .end(JSON.stringify({ accepted: JSON.parse(body).length, rejected: 0, errors: [] }));
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const r = new Reporter({ url: `http://127.0.0.1:${server.address().port}/`, batchSize: 3, intervalMs: 60_000 });
  try {
    r.trackLlmCall({ model: MINI, endpoint: '/e', inputTokens: 100, outputTokens: 10, latency: 0.4,
      ttft: 0.1, userId: 'u', teamId: 't', cachedInputTokens: 60, cache: 'miss', costUsd: 0.5,
      traceId: 'tr', spanId: 'sp' });
    for (let i = 1; i < 5; i++) r.trackLlmCall({ model: MINI, inputTokens: 100 + i, outputTokens: 10, latency: 0.4 });
    r.trackLlmCall({ model: MINI, inputTokens: undefined, outputTokens: null, reasoningTokens: 4,
      cacheWriteInputTokens: 7, latency: 0.4 });
    r.trackQualityScore({ model: MINI, evaluator: 'judge', score: 3.5, traceId: 'tq' });
    // A full batch starts sending by itself, without waiting for the 60 s interval; the drain
    // then takes everything queued.
    await waitUntil(() => bodies.length === 3, { what: 'three batches' });
    assert.equal(await r.flush(10_000), true);
  } finally {
    await r.close();
    server.closeAllConnections?.();
    server.close();
  }
  assert.equal(r.dropped, 0);
  assert.deepEqual(bodies.map((b) => [b.path, b.type, b.events.length]),
    [['/v1/events', 'application/json', 3], ['/v1/events', 'application/json', 3], ['/v1/events', 'application/json', 1]]);
  assert.deepEqual(bodies[0].events[0], { model: MINI, endpoint: '/e', status: 'success', input_tokens: 100,
    output_tokens: 10, cached_input_tokens: 60, latency: 0.4, ttft: 0.1, user_id: 'u', team_id: 't',
    cache: 'miss', cost_usd: 0.5, trace_id: 'tr', span_id: 'sp' });
  assert.deepEqual(bodies[0].events[1], { model: MINI, status: 'success', input_tokens: 101, output_tokens: 10, latency: 0.4 });
  // Undefined and null token counts are left out; the snake_case names of the token parts.
  assert.deepEqual(bodies[1].events[2], { model: MINI, status: 'success', reasoning_tokens: 4,
    cache_write_input_tokens: 7, latency: 0.4 });
  assert.deepEqual(bodies[2].events[0], { type: 'quality', model: MINI, evaluator: 'judge', score: 3.5, trace_id: 'tq' });
});

test('agent down: events are dropped and counted, nothing throws, one warning', async () => {
  const logger = recordingLogger();
  const r = new Reporter({ url: `http://127.0.0.1:${await freePort()}`, logger });
  for (let i = 0; i < 3; i++) r.trackLlmCall({ model: MINI, inputTokens: 1, outputTokens: 1, latency: 0.1 });
  assert.equal(await r.flush(10_000), true);
  r.trackQualityScore({ model: MINI, evaluator: 'judge', score: 4 });
  assert.equal(await r.flush(10_000), true);
  assert.equal(r.dropped, 4);
  assert.equal(await r.close(), true);
  r.trackLlmCall({ model: MINI, inputTokens: 1, outputTokens: 1, latency: 0.1 }); // after close: dropped
  assert.equal(r.dropped, 5);
  assert.equal(logger.warnings.length, 1, logger.warnings.join('\n'));
  assert.match(logger.warnings[0], /dropped 3 LLM metric event\(s\): cannot deliver to http:\/\/127\.0\.0\.1:\d+\/v1\/events: fetch failed \(ECONNREFUSED\)/);
});

test('a hanging agent: flush gives up in time, the request times out and its events are dropped', async () => {
  const sockets = [];
  const silent = net.createServer((s) => sockets.push(s)); // accepts, never answers
  await new Promise((resolve) => silent.listen(0, '127.0.0.1', resolve));
  const logger = recordingLogger();
  const r = new Reporter({ url: `http://127.0.0.1:${silent.address().port}`, timeoutMs: 500,
    maxQueue: 5, intervalMs: 60_000, logger });
  try {
    for (let i = 0; i < 20; i++) r.trackLlmCall({ model: MINI, inputTokens: i, outputTokens: 1, latency: 0.1 });
    assert.equal(r.dropped, 15); // the queue holds 5
    assert.equal(await r.flush(100), false); // the request hangs past the flush's 100 ms
    await waitUntil(() => sockets.length > 0, { what: 'the reporter to connect' });
    for (let i = 0; i < 20; i++) r.trackLlmCall({ model: MINI, inputTokens: i, outputTokens: 1, latency: 0.1 });
    assert.equal(r.dropped, 30); // 5 wait while the first batch is stuck on the network
    assert.equal(await r.flush(10_000), true); // both batches time out after 0.5 s each
    assert.equal(r.dropped, 40);
  } finally {
    await r.close(2000);
    for (const s of sockets) s.destroy();
    silent.close();
  }
  assert.equal(logger.warnings.length, 1, logger.warnings.join('\n'));
  assert.match(logger.warnings[0], /^llm-exporter-client: dropped 1 LLM metric event\(s\): queue full/);
  assert.match(logger.debugs.join('\n'), /no answer within 500 ms/);
});

function runChild(source, env) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', source],
      { cwd: NODE_DIR, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    // A reporter that kept the app alive would hang it: fail after 30 s rather than hang.
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? signal, out, err });
    });
  });
}

test('an app that exits normally without close() still delivers its events', async () => {
  // The interval is 10 minutes: were its timer not unref'd the child would not exit, and without
  // the flush at exit nothing would be sent.
  const { code, out, err } = await runChild(`
    import { configure, trackLlmCall, trackQualityScore, reporter } from './index.js';
    configure({ intervalMs: 600_000, timeoutMs: ${SLOW_AGENT_MS} });
    trackLlmCall({ model: 'gpt-4o-mini', endpoint: '/exit', inputTokens: 7, outputTokens: 3,
                   latency: 0.7, userId: 'exiter', teamId: 'batch' });
    trackQualityScore({ model: 'gpt-4o-mini', evaluator: 'exit-judge', score: 4 });
    process.on('exit', () => console.log(JSON.stringify({ dropped: reporter().dropped })));
  `, { LLM_EXPORTER_URL: agent.url });
  assert.equal(code, 0, err);
  assert.deepEqual(JSON.parse(out.trim()), { dropped: 0 });
  const m = await settled('llm_requests_total', { model: MINI, endpoint: '/exit', status: 'success' }, 1);
  assertCost(m, (7 * 0.00015 + 3 * 0.0006) / 1000, { model: MINI, user_id: 'exiter', team_id: 'batch' });
  assert.equal(m.value('llm_quality_score_count', { model: MINI, evaluator: 'exit-judge' }), 1);
});

test('an app exiting while the agent is down is not held up by the reporter', async () => {
  const { code, out, err } = await runChild(`
    import { Reporter } from './index.js';
    const r = new Reporter({ intervalMs: 600_000, batchSize: 2, logger: { warn() {} } });
    for (let i = 0; i < 10; i++) r.trackLlmCall({ model: 'gpt-4o-mini', inputTokens: 1, outputTokens: 1, latency: 0.1 });
    process.on('exit', () => console.log(JSON.stringify({ dropped: r.dropped })));
  `, { LLM_EXPORTER_URL: `http://127.0.0.1:${await freePort()}` });
  assert.equal(code, 0, err);
  assert.deepEqual(JSON.parse(out.trim()), { dropped: 10 });
});
