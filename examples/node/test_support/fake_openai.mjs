// A fake OpenAI-compatible server for the tests: POST /v1/chat/completions, streamed or not, with
// a known delay before the first token. The last user message picks the behaviour:
//   "fail"  -> HTTP 500 with an OpenAI-style error body
//   "cut"   -> (streamed) the connection is destroyed after the first content chunk
//   anything else -> a normal answer with USAGE (non-streamed) or STREAM_USAGE (streamed)
import http from 'node:http';

export const FIRST_TOKEN_DELAY_MS = 300; // well inside the (0.25, 0.5] llm_ttft_seconds bucket
export const USAGE = { prompt_tokens: 1000, completion_tokens: 200, total_tokens: 1200,
  prompt_tokens_details: { cached_tokens: 400 }, completion_tokens_details: { reasoning_tokens: 150 } };
export const STREAM_USAGE = { prompt_tokens: 120, completion_tokens: 3, total_tokens: 123,
  prompt_tokens_details: { cached_tokens: 100 }, completion_tokens_details: { reasoning_tokens: 2 } };
export const STREAM_TEXT = ['Hello', ',', ' world'];

export class FakeOpenAI {
  constructor() {
    this.requests = []; // the parsed JSON bodies, in order
    this.server = http.createServer((req, res) => this.handle(req, res));
  }

  async start() {
    await new Promise((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.baseURL = `http://127.0.0.1:${this.server.address().port}/v1`;
    return this;
  }

  async stop() {
    this.server.closeAllConnections?.();
    await new Promise((resolve) => this.server.close(resolve));
  }

  handle(req, res) {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/chat/completions') {
        res.writeHead(404).end();
        return;
      }
      const params = JSON.parse(body);
      this.requests.push(params);
      const say = params.messages?.at(-1)?.content ?? '';
      if (say === 'fail') {
        const error = JSON.stringify({ error: { message: 'the fake fails as asked', type: 'server_error', code: null } });
        res.writeHead(500, { 'Content-Type': 'application/json' }).end(error);
      } else if (params.stream) {
        this.stream(params, res, say === 'cut');
      } else {
        res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({
          id: 'chatcmpl-fake', object: 'chat.completion', created: 0, model: params.model,
          choices: [{ index: 0, message: { role: 'assistant', content: 'Hello, world' },
            finish_reason: 'stop' }],
          usage: USAGE,
        }));
      }
    });
  }

  async stream(params, res, cut) {
    const chunk = (choices, usage) => `data: ${JSON.stringify({ id: 'chatcmpl-fake',
      object: 'chat.completion.chunk', created: 0, model: params.model, choices,
      ...(params.stream_options?.include_usage ? { usage: usage ?? null } : {}) })}\n\n`;
    const delta = (d, finish = null) => [{ index: 0, delta: d, finish_reason: finish }];
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
    res.write(chunk(delta({ role: 'assistant', content: '' })));
    await new Promise((resolve) => setTimeout(resolve, FIRST_TOKEN_DELAY_MS));
    for (const [i, text] of STREAM_TEXT.entries()) {
      if (res.destroyed) return; // the client went away
      res.write(chunk(delta({ content: text })));
      if (cut) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        res.destroy();
        return;
      }
      if (i < STREAM_TEXT.length - 1) await new Promise((resolve) => setTimeout(resolve, 10));
    }
    res.write(chunk(delta({}, 'stop')));
    if (params.stream_options?.include_usage) res.write(chunk([], STREAM_USAGE));
    res.end('data: [DONE]\n\n');
  }
}
