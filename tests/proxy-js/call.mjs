// Makes LLM API calls with the real OpenAI and Anthropic Node.js SDKs (or with node:http, for the
// raw bytes), as an app that points its SDK's base URL at llm_exporter's metering proxy does: the
// proxy's integration tests and benchmark use it, against tests/integration/fake_upstream.py.
//
//   node call.mjs '<spec JSON>'        one call: prints one JSON line, its result
//   node call.mjs '[<spec>, ...]'      calls one after the other: prints {"results":[...]}
//   node call.mjs '{"parallel": [<spec>, ...]}'   the calls all at once: {"results":[...]}
//   node call.mjs --spec-file FILE     the same, the JSON read from FILE
//   node call.mjs --serve              one line of spec JSON in, one line of results out, each
//                                      in turn, until stdin ends (see serve())
//   --transport node|web               the SDKs' HTTP client: node-fetch (their default on
//                                      Node.js) or the built-in fetch; default: see below
//
// A spec:
//   {
//     "scenario": "openai-chat-stream",   see SCENARIOS below
//     "baseURL": "http://127.0.0.1:9778/proxy/openai/v1",   the SDK's base URL (for the OpenAI
//                                         SDK with /v1; for Anthropic's without: the SDK adds it)
//     "model": "gpt-4o-mini",
//     "fake": "ttft_ms=50&chunks=4",      sent as the X-Fake header (the fake's instructions)
//     "headers": {"X-LLM-User-Id": "u1"}, more request headers
//     "tag": "t1",                        copied into the result, to match it to its spec
//     "user": "u2",                       the body's `user` (OpenAI) or metadata.user_id
//     "maxRetries": 0,                    the SDK's retries (default 0: every call is one request)
//     "timeoutMs": 30000,                 the SDK's timeout of one request
//     "abortAfter": 2,                    streams: abort (AbortController) after this many content
//                                         chunks, as a client that hangs up mid-stream
//     "url", "method", "body"             raw: the full URL, method (POST) and body (a JSON value
//                                         or a string) of a request made with node:http
//   }
//
// A result: {"ok": true, "scenario", "status": 200, "text": "...", "chunks": N (parsed stream
// events the SDK yielded), "contentChunks": N, "firstContentMs": t (from the call's start to the
// arrival of the first content chunk, streams), "totalMs": t, "usage": {...} (as the client got
// it), "model", "finishReason", "sawUsageOnlyChunk" (a chat chunk with "choices":[]),
// "sawUsageNull" (a chunk with "usage": null), "aborted", "requestId", "tag"}; raw adds "headers"
// and "bodyBase64" (the entity body exactly as received: not decompressed). A failed call has
// "ok": false and "error": {"name", "status", "type", "message"} beside what arrived before it;
// a call left hanging by its HTTP client (see `unsettled`) has the error name "Unsettled".
// The exit status is 0 unless the arguments are wrong (2): a failed call is a result.
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';

// The SDKs' HTTP client. Both SDKs use node-fetch 2 with a keep-alive agent on Node.js by default,
// and that is what an app gets, so it is what the calls use, except on Node.js 18: Debian 12's
// security build of it (18.20.4+dfsg-1~deb12u3, the CVE-2026-48931 fix to http.Agent) makes
// node-fetch 2 fail every chunked answer on a kept-alive socket with "Premature close", whoever
// serves it. There the SDKs use Node.js's own fetch (their documented `shims/web`).
const transportArg = process.argv.indexOf('--transport');
const transport = transportArg >= 0 ? process.argv.splice(transportArg, 2)[1]
  : (parseInt(process.versions.node, 10) < 20 ? 'web' : 'node');
if (transport === 'web') {
  await import('openai/shims/web');
  await import('@anthropic-ai/sdk/shims/web');
} else if (transport !== 'node') {
  process.stderr.write(`--transport must be node or web, not ${transport}\n`);
  process.exit(2);
}
const { default: OpenAI } = await import('openai');
const { default: Anthropic } = await import('@anthropic-ai/sdk');

const MESSAGES = [{ role: 'user', content: 'Say hello.' }];

function headersOf(spec) {
  const headers = { ...(spec.headers || {}) };
  if (spec.fake) headers['X-Fake'] = spec.fake;
  return headers;
}

function openai(spec) {
  return new OpenAI({
    apiKey: spec.apiKey || 'sk-test-key',
    baseURL: spec.baseURL,
    maxRetries: spec.maxRetries ?? 0,
    timeout: spec.timeoutMs ?? 30000,
  });
}

function anthropic(spec) {
  return new Anthropic({
    apiKey: spec.apiKey || 'sk-ant-test-key',
    baseURL: spec.baseURL,
    maxRetries: spec.maxRetries ?? 0,
    timeout: spec.timeoutMs ?? 30000,
  });
}

// Reads a stream the SDK returns; `content(event)` gives the text of a content event or null.
async function readStream(stream, spec, result, controller, content) {
  for await (const event of stream) {
    result.chunks++;
    content(event, result);
    if (result.contentChunks > 0 && result.firstContentMs === null) {
      result.firstContentMs = performance.now() - result.t0;
    }
    if (spec.abortAfter !== undefined && result.contentChunks >= spec.abortAfter) {
      result.aborted = true;
      controller.abort();
      break;
    }
  }
}

function chatContent(chunk, result) {
  if (result.model === null && chunk.model) result.model = chunk.model;
  if ('usage' in chunk && chunk.usage === null) result.sawUsageNull = true;
  if (chunk.usage) result.usage = chunk.usage;
  if (Array.isArray(chunk.choices) && chunk.choices.length === 0) result.sawUsageOnlyChunk = true;
  for (const choice of chunk.choices || []) {
    const text = choice.delta?.content ?? choice.text;
    if (text) {
      result.text += text;
      result.contentChunks++;
    }
    if (choice.finish_reason) result.finishReason = choice.finish_reason;
  }
}

const SCENARIOS = {
  // Chat Completions, not streamed.
  async 'openai-chat'(spec, result, opts) {
    const body = { model: spec.model, messages: MESSAGES };
    if (spec.user) body.user = spec.user;
    const { data, response } =
      await openai(spec).chat.completions.create(body, opts).withResponse();
    result.status = response.status;
    result.requestId = response.headers.get('x-request-id');
    result.text = data.choices[0].message.content;
    result.usage = data.usage;
    result.model = data.model;
    result.finishReason = data.choices[0].finish_reason;
  },
  // Chat Completions streamed, without and with stream_options.include_usage.
  async 'openai-chat-stream'(spec, result, opts, controller) {
    await chatStream(spec, result, opts, controller, false);
  },
  async 'openai-chat-stream-usage'(spec, result, opts, controller) {
    await chatStream(spec, result, opts, controller, true);
  },
  // Legacy Completions, streamed.
  async 'openai-completions-stream'(spec, result, opts, controller) {
    const body = { model: spec.model, prompt: 'Say hello.', stream: true };
    if (spec.includeUsage) body.stream_options = { include_usage: true };
    const { data, response } = await openai(spec).completions.create(body, opts).withResponse();
    result.status = response.status;
    await readStream(data, spec, result, controller, chatContent);
  },
  // The Responses API, streamed and not.
  async 'openai-responses-stream'(spec, result, opts, controller) {
    const body = { model: spec.model, input: 'Say hello.', stream: true };
    if (spec.user) body.user = spec.user;
    const { data, response } = await openai(spec).responses.create(body, opts).withResponse();
    result.status = response.status;
    result.requestId = response.headers.get('x-request-id');
    await readStream(data, spec, result, controller, (event, r) => {
      if (event.type === 'response.output_text.delta') {
        r.text += event.delta;
        r.contentChunks++;
      } else if (event.type === 'response.completed') {
        r.usage = event.response.usage;
        r.model = event.response.model;
        r.finishReason = event.response.status;
      } else if (event.type === 'response.failed') {
        r.finishReason = event.response.status;
      }
    });
  },
  async 'openai-responses'(spec, result, opts) {
    const body = { model: spec.model, input: 'Say hello.' };
    const { data, response } = await openai(spec).responses.create(body, opts).withResponse();
    result.status = response.status;
    result.text = data.output_text;
    result.usage = data.usage;
    result.model = data.model;
  },
  // Embeddings (the SDK asks for base64 and decodes it).
  async 'openai-embeddings'(spec, result, opts) {
    const body = { model: spec.model, input: ['Say hello.', 'Say goodbye.'] };
    const { data, response } = await openai(spec).embeddings.create(body, opts).withResponse();
    result.status = response.status;
    result.usage = data.usage;
    result.model = data.model;
    result.embeddings = data.data.map((d) => Array.from(d.embedding));
  },
  // Anthropic Messages, not streamed and streamed.
  async 'anthropic-messages'(spec, result, opts) {
    const body = { model: spec.model, max_tokens: 256, messages: MESSAGES };
    if (spec.user) body.metadata = { user_id: spec.user };
    const { data, response } = await anthropic(spec).messages.create(body, opts).withResponse();
    result.status = response.status;
    result.requestId = response.headers.get('request-id');
    result.text = data.content.map((c) => c.text).join('');
    result.usage = data.usage;
    result.model = data.model;
    result.finishReason = data.stop_reason;
  },
  async 'anthropic-messages-stream'(spec, result, opts, controller) {
    const body = { model: spec.model, max_tokens: 256, messages: MESSAGES, stream: true };
    if (spec.user) body.metadata = { user_id: spec.user };
    const { data, response } = await anthropic(spec).messages.create(body, opts).withResponse();
    result.status = response.status;
    result.requestId = response.headers.get('request-id');
    result.usage = {};
    await readStream(data, spec, result, controller, (event, r) => {
      if (event.type === 'message_start') {
        r.model = event.message.model;
        Object.assign(r.usage, event.message.usage);
      } else if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') {
        r.text += event.delta.text;
        r.contentChunks++;
      } else if (event.type === 'message_delta') {
        Object.assign(r.usage, event.usage);
        if (event.delta.stop_reason) r.finishReason = event.delta.stop_reason;
      }
    });
  },
  // One request with node:http: the status, headers and entity body exactly as received.
  async raw(spec, result, opts) {
    const body = spec.body === undefined ? ''
      : typeof spec.body === 'string' ? spec.body : JSON.stringify(spec.body);
    const headers = { 'Content-Type': 'application/json', ...opts.headers };
    await new Promise((resolve, reject) => {
      const req = http.request(spec.url, {
        method: spec.method || 'POST', headers, signal: opts.signal,
      }, (res) => {
        result.status = res.statusCode;
        result.headers = res.headers;
        const parts = [];
        res.on('data', (part) => {
          if (parts.length === 0) result.firstContentMs = performance.now() - result.t0;
          parts.push(part);
          result.chunks++;
        });
        res.on('end', () => {
          const bytes = Buffer.concat(parts);
          result.bodyBase64 = bytes.toString('base64');
          result.complete = res.complete;
          resolve();
        });
        res.on('error', (e) => {
          result.bodyBase64 = Buffer.concat(parts).toString('base64');
          reject(e);
        });
        res.on('aborted', () => {
          result.bodyBase64 = Buffer.concat(parts).toString('base64');
        });
      });
      req.on('error', reject);
      req.end(body);
    });
  },
};

async function chatStream(spec, result, opts, controller, includeUsage) {
  const body = { model: spec.model, messages: MESSAGES, stream: true };
  if (includeUsage) body.stream_options = { include_usage: true };
  if (spec.user) body.user = spec.user;
  const { data, response } = await openai(spec).chat.completions.create(body, opts).withResponse();
  result.status = response.status;
  result.requestId = response.headers.get('x-request-id');
  await readStream(data, spec, result, controller, chatContent);
}

// A call whose promise can no longer settle: node-fetch leaves a body cut short of its
// Content-Length neither finished nor failed, so once nothing else is pending the event loop runs
// dry. 'beforeExit' then releases such calls, which end as errors of their own ("Unsettled").
const unsettled = new Set();
process.on('beforeExit', () => {
  for (const release of unsettled) release();
  unsettled.clear();
});

async function call(spec) {
  const scenario = SCENARIOS[spec.scenario];
  if (!scenario) throw new TypeError(`unknown scenario ${JSON.stringify(spec.scenario)}`);
  const controller = new AbortController();
  const result = {
    ok: true, scenario: spec.scenario, transport, status: null, text: '', chunks: 0,
    contentChunks: 0, firstContentMs: null, totalMs: null, usage: null, model: null,
    finishReason: null,
    sawUsageOnlyChunk: false, sawUsageNull: false, aborted: false, requestId: null,
    t0: performance.now(),
  };
  if (spec.tag !== undefined) result.tag = spec.tag;
  let release;
  const stuck = new Promise((resolve) => {
    release = () => resolve('unsettled');
    unsettled.add(release);
  });
  try {
    const how = await Promise.race([
      scenario(spec, result, { headers: headersOf(spec), signal: controller.signal },
        controller).then(() => 'settled'),
      stuck,
    ]);
    if (how === 'unsettled') {
      result.ok = false;
      result.error = {
        name: 'Unsettled', status: null, type: null,
        message: 'the call neither finished nor failed, and nothing was left to wait for',
      };
    }
  } catch (e) {
    result.ok = false;
    result.error = {
      name: e?.constructor?.name ?? typeof e,
      status: e?.status ?? null,
      type: e?.error?.type ?? e?.error?.error?.type ?? null,
      message: String(e?.message ?? e),
    };
    if (result.status === null && e?.status) result.status = e.status;
  } finally {
    unsettled.delete(release);
  }
  result.totalMs = performance.now() - result.t0;
  delete result.t0;
  return result;
}

async function run(specs) {
  if (Array.isArray(specs?.parallel)) {
    return { results: await Promise.all(specs.parallel.map(call)) };
  }
  if (Array.isArray(specs)) {
    const results = [];
    for (const spec of specs) results.push(await call(spec));
    return { results };
  }
  return call(specs);
}

// --serve: one JSON line of specs in, one line of results out, until stdin ends. Spares the
// tests a Node.js start (and the SDKs' loading) per call; the SDKs' keep-alive connections are
// then reused from call to call, as in a long-running app. A call left hanging by its HTTP
// client is not noticed here (stdin keeps the event loop alive): run those one-shot.
async function serve() {
  const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
  for await (const line of lines) {
    if (!line.trim()) continue;
    let out;
    try {
      out = await run(JSON.parse(line));
    } catch (e) {
      out = { fatal: String(e?.message ?? e) };
    }
    process.stdout.write(JSON.stringify(out) + '\n');
  }
  process.exit(0);
}

async function main() {
  const argv = process.argv.slice(2);
  if (argv.length === 1 && argv[0] === '--serve') return serve();
  let text;
  if (argv[0] === '--spec-file' && argv.length === 2) text = readFileSync(argv[1], 'utf8');
  else if (argv.length === 1) text = argv[0];
  else {
    process.stderr.write("usage: node call.mjs '<spec JSON>' | --spec-file FILE | --serve\n");
    process.exit(2);
  }
  let out;
  try {
    out = await run(JSON.parse(text));
  } catch (e) {
    process.stderr.write(`call.mjs: ${e.message}\n`);
    process.exit(2);
  }
  // Exit at once: the SDKs' keep-alive agents would otherwise hold the process a while.
  process.stdout.write(JSON.stringify(out) + '\n', () => process.exit(0));
}

main();
