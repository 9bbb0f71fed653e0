// The Node.js rows of bench/app_side.py: what reporting one LLM call costs a Node.js app.
//
//   node bench/app_side.mjs AGENT_URL EVENTS
//
// Prints one JSON line a path ({"path", "median_us", "p99_us", "cpu_us", "note"}), timed as
// bench/app_side.py times the Python paths: per call, in batches of 100, median and 99th
// percentile over the batches, and the process's CPU time per event over the run, its flush
// included. Paths: JSON.stringify of the event alone (the floor of any JSON path), the reporter of
// examples/node, and an OpenTelemetry span through the JS SDK's BatchSpanProcessor and its
// OTLP/HTTP protobuf exporter (the npm packages of tests/otel-js), pointed at the agent.
import { createRequire } from 'node:module';

const [url, eventsArg] = process.argv.slice(2);
const events = Number(eventsArg || 20000);
const BATCH = 100;
const EVENT = {
  model: 'gpt-4o', endpoint: '/chat', input_tokens: 1200, output_tokens: 350, latency: 1.8,
  ttft: 0.4, user_id: 'u42', team_id: 'search',
};

function cpuMicros() {
  const u = process.cpuUsage();
  return u.user + u.system;
}

async function measure(path, call, finish, note = '') {
  const perCall = [];
  const cpu0 = cpuMicros();
  for (let start = 0; start < events; start += BATCH) {
    const t0 = process.hrtime.bigint();
    for (let i = start; i < start + BATCH; i++) call(i);
    perCall.push(Number(process.hrtime.bigint() - t0) / BATCH / 1000);
  }
  const extra = (await finish?.()) ?? '';
  const cpu = (cpuMicros() - cpu0) / events;
  perCall.sort((a, b) => a - b);
  const at = (q) => perCall[Math.min(perCall.length - 1, Math.floor(q * perCall.length))];
  console.log(JSON.stringify({
    path, median_us: at(0.5), p99_us: at(0.99), cpu_us: cpu, note: [note, extra].filter(Boolean).join('; '),
  }));
}

let sink = 0;
await measure('Node.js: JSON.stringify(event) alone (floor)', () => {
  sink += JSON.stringify(EVENT).length;
});

const { Reporter } = await import('../examples/node/index.js');
const reporter = new Reporter({ url, maxQueue: events + 1 });
await measure('Node.js: examples/node reporter (batched, async)', () => {
  reporter.trackLlmCall({
    model: 'gpt-4o', endpoint: '/chat', inputTokens: 1200, outputTokens: 350, latency: 1.8,
    ttft: 0.4, userId: 'u42', teamId: 'search',
  });
}, async () => {
  await reporter.close();
  return `dropped ${reporter.dropped}`;
});

const otel = createRequire(new URL('../tests/otel-js/package.json', import.meta.url));
const { BasicTracerProvider, BatchSpanProcessor } = otel('@opentelemetry/sdk-trace-base');
const { OTLPTraceExporter } = otel('@opentelemetry/exporter-trace-otlp-proto');
// The queue holds the whole run, so that every span is exported (and its CPU counted), and
// forceFlush() may send all of its batches at once: lift the exporter's limit of 30 at a time.
const exporter = new OTLPTraceExporter({ url: `${url}/v1/traces`, concurrencyLimit: 1000 });
const provider = new BasicTracerProvider({
  spanProcessors: [new BatchSpanProcessor(exporter, { maxQueueSize: events + 1, maxExportBatchSize: 512 })],
});
const tracer = provider.getTracer('bench');
await measure('Node.js: OpenTelemetry span, BatchSpanProcessor + OTLP/HTTP', () => {
  const span = tracer.startSpan('chat gpt-4o', {
    attributes: {
      'gen_ai.operation.name': 'chat', 'gen_ai.system': 'openai', 'gen_ai.request.model': 'gpt-4o',
      'gen_ai.usage.input_tokens': 1200, 'gen_ai.usage.output_tokens': 350, 'user.id': 'u42',
    },
  });
  span.end();
}, async () => {
  await provider.forceFlush();
  await provider.shutdown();
}, 'the SDK exports in the background; the agent holds LLM spans up to --otlp.span-hold');
if (sink < 0) console.log(sink);
