// What one trackLlmCall() costs the app: the median per-call time in microseconds, beside the
// cost of JSON.stringify of the same event. Sending happens between the app's calls, off its
// call path, so the figure is the same whether an agent runs at $LLM_EXPORTER_URL or not. This
// prints figures; it asserts nothing.
//
//   node bench/track_cost.mjs [calls]        # default 200000
import { Reporter } from '../index.js';

const calls = Number(process.argv[2] ?? 200_000);
const perSample = 100; // calls timed together: one call is near the clock's resolution
const perTurn = 1000; // calls between turns of the event loop, where the reporter sends

const event = (i) => ({ model: 'gpt-4o', endpoint: '/chat', inputTokens: 1200 + (i & 7),
  outputTokens: 350, latency: 1.8, ttft: 0.4, userId: 'user-42', teamId: 'search',
  traceId: '4bf92f3577b34da6a3ce929d0e0e4736' });

const turn = () => new Promise((resolve) => setImmediate(resolve));

// The median per-call time of fn(i) in microseconds. The loop yields every `perTurn` calls, as an
// app serving requests does, so the reporter's batches go out (or fail) as they would in an app.
async function measure(fn) {
  const samples = [];
  for (let i = 0; i < calls; i += perSample) {
    const start = process.hrtime.bigint();
    for (let j = i; j < i + perSample; j++) fn(j);
    samples.push(Number(process.hrtime.bigint() - start) / 1000 / perSample);
    if ((i + perSample) % perTurn === 0) await turn();
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)];
}

let bytes = 0;
const stringify = (i) => { bytes = JSON.stringify(event(i)).length; };
// The default options but a queue that holds a whole round: the loop calls far faster than any
// app (about a million calls a second), and the figure is to be the enqueue path, not the drops.
const reporter = new Reporter({ maxQueue: calls, logger: { warn() {} } });

// Warm-up rounds (the JIT), then the measured one; the two alternate so neither runs on a colder
// or hotter process than the other.
let track;
let json;
for (let round = 0; round < 3; round++) {
  json = await measure(stringify);
  track = await measure((i) => reporter.trackLlmCall(event(i)));
  await reporter.flush(30_000);
}
const handled = await reporter.flush(30_000);

console.log(`node ${process.version}; ${calls} calls a round, the third of 3 rounds measured; ` +
  `agent at ${reporter.url}`);
console.log(`trackLlmCall():             ${track.toFixed(3)} us per call (median)`);
console.log(`JSON.stringify(same event): ${json.toFixed(3)} us per call (median; ${bytes} bytes)`);
console.log(`events sent or dropped by the end: ${handled}; dropped: ${reporter.dropped} of ${3 * calls}`);
await reporter.close(1000);
