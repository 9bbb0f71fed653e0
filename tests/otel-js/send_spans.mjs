// Sends the spans of a scenario file to an OTLP endpoint with the real OpenTelemetry JS SDK and
// one of its OTLP trace exporters, as an instrumented application would: the integration tests'
// client for llm_exporter's OTLP/HTTP and OTLP/gRPC ways in.
//
//   node send_spans.mjs --protocol proto|json|grpc --endpoint <url> --scenario <file.json>
//                       [--insecure] [--ca <file>] [--headers k=v,...] [--compression gzip|none]
//                       [--processor batch|simple] [--timeout-ms <ms>]
//
//   --protocol     proto: OTLP/HTTP protobuf (exporter-trace-otlp-proto); json: OTLP/HTTP JSON
//                  (exporter-trace-otlp-http); grpc: OTLP/gRPC (exporter-trace-otlp-grpc)
//   --endpoint     proto, json: the full URL, e.g. http://127.0.0.1:9778/v1/traces
//                  grpc: http://host:port (plaintext) or https://host:port (TLS)
//   --insecure     grpc only: plaintext whatever the endpoint's scheme (OTLP's `insecure`)
//   --ca           a PEM file of CAs to trust for https / TLS, instead of the system's
//   --headers      k=v pairs, comma-separated (HTTP headers, or gRPC metadata), split at the
//                  first '=', e.g. "authorization=Basic YWxpY2U6d29uZGVybGFuZA=="
//   --compression  gzip or none (the default)
//   --processor    batch (the default: every span in one export request, sent by forceFlush)
//                  or simple (one export request a span, as each ends)
//   --timeout-ms   the exporter's timeout for an export, retries included (default 10000)
//
// The scenario file (JSON):
//   {
//     "baseTimeMs": 1767225600000,            optional: epoch ms the offsets count from (now)
//     "resource": {"service.name": "chat"},   resource attributes, over the SDK's defaults
//     "scope": {"name": "opentelemetry.instrumentation.openai", "version": "0.40.0"},
//                                             or just the name; the default scope of every span
//     "spans": [{
//       "name": "chat gpt-4o",                unique within the scenario
//       "kind": "client",                     internal (default), server, client, producer,
//                                             consumer
//       "startOffsetMs": 0, "endOffsetMs": 1250.5,   from baseTimeMs; fractions are kept
//       "status": {"code": "error", "message": "rate limited"},   unset (default), ok, error
//       "attributes": {"gen_ai.request.model": "gpt-4o", "gen_ai.usage.input_tokens": 12},
//       "events": [{"name": "First Token Stream Event", "offsetMs": 180, "attributes": {}}],
//                                             offsetMs counts from the span's start
//       "parent": "workflow",                 the name of another span of the scenario, whose
//                                             trace the span joins; none: a new trace
//       "scope": "..."                        optional: this span's scope instead of the default
//     }]
//   }
// Integers in attributes are sent as intValue, other numbers as doubleValue (the SDK's rule).
//
// Prints one JSON line on stdout: {"ok":true,"protocol":"grpc","spans":3,"exportedSpans":3,
// "requests":1,"traceIds":[...],"partialSuccess":[{"rejectedSpans":1,"errorMessage":"..."}]}.
// Exits 1 (after that line, with "ok":false and "error") when an export failed, and 2 on bad
// arguments or a bad scenario, with the reason on stderr.
import { readFileSync } from 'node:fs';

import { DiagLogLevel, ROOT_CONTEXT, SpanKind, SpanStatusCode, diag, trace } from '@opentelemetry/api';
import { ExportResultCode } from '@opentelemetry/core';
import { defaultResource, resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';

class UsageError extends Error {}

function parseArgs(argv) {
  const options = {
    protocol: null,
    endpoint: null,
    scenario: null,
    insecure: false,
    ca: null,
    headers: {},
    compression: 'none',
    processor: 'batch',
    timeoutMs: 10000,
  };
  const valueOf = (i, flag) => {
    if (i + 1 >= argv.length) throw new UsageError(`${flag} needs a value`);
    return argv[i + 1];
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    switch (flag) {
      case '--protocol': options.protocol = valueOf(i, flag); i++; break;
      case '--endpoint': options.endpoint = valueOf(i, flag); i++; break;
      case '--scenario': options.scenario = valueOf(i, flag); i++; break;
      case '--ca': options.ca = valueOf(i, flag); i++; break;
      case '--compression': options.compression = valueOf(i, flag); i++; break;
      case '--processor': options.processor = valueOf(i, flag); i++; break;
      case '--timeout-ms': options.timeoutMs = Number(valueOf(i, flag)); i++; break;
      case '--insecure': options.insecure = true; break;
      case '--headers':
        for (const pair of valueOf(i, flag).split(',')) {
          if (pair.trim() === '') continue;
          const eq = pair.indexOf('=');
          if (eq <= 0) throw new UsageError(`--headers: "${pair}" is not key=value`);
          options.headers[pair.slice(0, eq).trim()] = pair.slice(eq + 1).trim();
        }
        i++;
        break;
      default:
        throw new UsageError(`unknown argument "${flag}"`);
    }
  }
  if (!['proto', 'json', 'grpc'].includes(options.protocol)) {
    throw new UsageError('--protocol must be proto, json or grpc');
  }
  if (!options.endpoint) throw new UsageError('--endpoint is required');
  if (!options.scenario) throw new UsageError('--scenario is required');
  if (!['gzip', 'none'].includes(options.compression)) {
    throw new UsageError('--compression must be gzip or none');
  }
  if (!['batch', 'simple'].includes(options.processor)) {
    throw new UsageError('--processor must be batch or simple');
  }
  if (!(options.timeoutMs > 0)) throw new UsageError('--timeout-ms must be a positive number');
  if (options.insecure && options.protocol !== 'grpc') {
    throw new UsageError('--insecure applies to --protocol grpc only; over HTTP the endpoint\'s ' +
                         'scheme (http:// or https://) decides');
  }
  return options;
}

const kKinds = {
  internal: SpanKind.INTERNAL,
  server: SpanKind.SERVER,
  client: SpanKind.CLIENT,
  producer: SpanKind.PRODUCER,
  consumer: SpanKind.CONSUMER,
};
const kStatusCodes = {
  unset: SpanStatusCode.UNSET,
  ok: SpanStatusCode.OK,
  error: SpanStatusCode.ERROR,
  0: SpanStatusCode.UNSET,
  1: SpanStatusCode.OK,
  2: SpanStatusCode.ERROR,
};

function readScenario(path) {
  let scenario;
  try {
    scenario = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new UsageError(`scenario ${path}: ${e.message}`);
  }
  const fail = (what) => { throw new UsageError(`scenario ${path}: ${what}`); };
  if (!Array.isArray(scenario.spans) || scenario.spans.length === 0) fail('"spans" must be a non-empty array');
  const byName = new Map();
  scenario.spans.forEach((span, i) => {
    if (typeof span.name !== 'string' || span.name === '') fail(`span ${i}: "name" must be a non-empty string`);
    if (byName.has(span.name)) fail(`span ${i}: the name "${span.name}" is used twice`);
    byName.set(span.name, span);
    for (const key of ['startOffsetMs', 'endOffsetMs']) {
      if (typeof span[key] !== 'number' || !Number.isFinite(span[key])) fail(`span "${span.name}": "${key}" must be a number`);
    }
    if (span.kind !== undefined && !(span.kind in kKinds)) fail(`span "${span.name}": unknown kind "${span.kind}"`);
    if (span.status !== undefined && !(String(span.status.code ?? 'unset').toLowerCase() in kStatusCodes)) {
      fail(`span "${span.name}": unknown status code "${span.status.code}"`);
    }
    for (const [j, event] of (span.events ?? []).entries()) {
      if (typeof event.name !== 'string' || typeof event.offsetMs !== 'number') {
        fail(`span "${span.name}": event ${j} needs a "name" and an "offsetMs"`);
      }
    }
  });
  for (const span of scenario.spans) {
    if (span.parent !== undefined && !byName.has(span.parent)) {
      fail(`span "${span.name}": its parent "${span.parent}" is not a span of the scenario`);
    }
  }
  return scenario;
}

// Parents before their children; a cycle is an error.
function creationOrder(spans, fail) {
  const byName = new Map(spans.map((s) => [s.name, s]));
  const order = [];
  const state = new Map();  // name -> 'visiting' | 'done'
  const visit = (span) => {
    if (state.get(span.name) === 'done') return;
    if (state.get(span.name) === 'visiting') fail(`span "${span.name}" is its own ancestor`);
    state.set(span.name, 'visiting');
    if (span.parent !== undefined) visit(byName.get(span.parent));
    state.set(span.name, 'done');
    order.push(span);
  };
  spans.forEach(visit);
  return order;
}

// Epoch milliseconds (fractions kept to the nanosecond) as the SDK's HrTime [seconds, nanos]: a
// plain number earlier than the process start would be taken for a performance.now() offset.
function hrTime(epochMs) {
  const whole = Math.floor(epochMs);
  const nanos = BigInt(whole) * 1000000n + BigInt(Math.round((epochMs - whole) * 1e6));
  return [Number(nanos / 1000000000n), Number(nanos % 1000000000n)];
}

function scopeOf(value) {
  if (value === undefined) return { name: 'llm_exporter.tests.send_spans', version: undefined };
  if (typeof value === 'string') return { name: value, version: undefined };
  return { name: value.name, version: value.version };
}

async function createExporter(options) {
  const compression = options.compression;
  const timeoutMillis = options.timeoutMs;
  if (options.protocol === 'grpc') {
    const { credentials, Metadata } = await import('@grpc/grpc-js');
    const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-grpc');
    const metadata = new Metadata();
    for (const [key, value] of Object.entries(options.headers)) metadata.set(key, value);
    let channelCredentials;
    if (options.insecure || options.endpoint.startsWith('http://')) {
      channelCredentials = credentials.createInsecure();
    } else {
      channelCredentials = credentials.createSsl(options.ca ? readFileSync(options.ca) : null);
    }
    return new OTLPTraceExporter({
      url: options.endpoint,
      credentials: channelCredentials,
      metadata,
      compression,
      timeoutMillis,
    });
  }
  const module = options.protocol === 'proto'
    ? await import('@opentelemetry/exporter-trace-otlp-proto')
    : await import('@opentelemetry/exporter-trace-otlp-http');
  const config = { url: options.endpoint, headers: options.headers, compression, timeoutMillis };
  if (options.ca) config.httpAgentOptions = { ca: readFileSync(options.ca) };
  return new module.OTLPTraceExporter(config);
}

// rejectedSpans arrives as a number, a string (OTLP/JSON's int64) or a protobufjs Long.
function toNumber(value) {
  if (value == null) return 0;
  if (typeof value === 'object' && 'low' in value) return value.high * 2 ** 32 + (value.low >>> 0);
  return Number(value);
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  const scenario = readScenario(options.scenario);
  const order = creationOrder(scenario.spans, (what) => {
    throw new UsageError(`scenario ${options.scenario}: ${what}`);
  });

  // The exporters report a partial success (and their other troubles) through the diag logger.
  const partialSuccess = [];
  const warnings = [];
  diag.setLogger({
    error: (...args) => warnings.push(args.map(String).join(' ')),
    warn: (message, ...args) => {
      if (String(message).startsWith('Received Partial Success response')) {
        const body = JSON.parse(args[0]);
        partialSuccess.push({
          rejectedSpans: toNumber(body.rejectedSpans),
          errorMessage: body.errorMessage ?? '',
        });
        return;
      }
      warnings.push([message, ...args].map(String).join(' '));
    },
    info: () => {},
    debug: () => {},
    verbose: () => {},
  }, DiagLogLevel.WARN);

  const exporter = await createExporter(options);
  // Every export's outcome, as the processor sees it.
  const results = [];
  const exportOriginal = exporter.export.bind(exporter);
  exporter.export = (spans, callback) => {
    exportOriginal(spans, (result) => {
      results.push({ spans: spans.length, code: result.code, error: result.error });
      callback(result);
    });
  };

  const spanCount = scenario.spans.length;
  const processor = options.processor === 'simple'
    ? new SimpleSpanProcessor(exporter)
    : new BatchSpanProcessor(exporter, {
      maxExportBatchSize: spanCount,
      maxQueueSize: Math.max(spanCount, 2048),
      scheduledDelayMillis: 3600 * 1000,  // only forceFlush sends: one request for all spans
      exportTimeoutMillis: options.timeoutMs,
    });
  const provider = new BasicTracerProvider({
    resource: defaultResource().merge(resourceFromAttributes(scenario.resource ?? {})),
    spanProcessors: [processor],
  });

  const base = typeof scenario.baseTimeMs === 'number' ? scenario.baseTimeMs : Date.now();
  const defaultScope = scopeOf(scenario.scope);
  const started = new Map();
  for (const spec of order) {
    const scope = spec.scope !== undefined ? scopeOf(spec.scope) : defaultScope;
    const tracer = provider.getTracer(scope.name, scope.version);
    const parentContext = spec.parent !== undefined
      ? trace.setSpan(ROOT_CONTEXT, started.get(spec.parent))
      : ROOT_CONTEXT;
    const span = tracer.startSpan(spec.name, {
      kind: kKinds[spec.kind ?? 'internal'],
      startTime: hrTime(base + spec.startOffsetMs),
      attributes: spec.attributes ?? {},
    }, parentContext);
    started.set(spec.name, span);
  }
  // Children end before their parents, as real spans do (the order does not reach the wire).
  for (const spec of [...order].reverse()) {
    const span = started.get(spec.name);
    for (const event of spec.events ?? []) {
      span.addEvent(event.name, event.attributes ?? {},
                    hrTime(base + spec.startOffsetMs + event.offsetMs));
    }
    if (spec.status !== undefined) {
      const code = kStatusCodes[String(spec.status.code ?? 'unset').toLowerCase()];
      span.setStatus(spec.status.message !== undefined ? { code, message: spec.status.message } : { code });
    }
    span.end(hrTime(base + spec.endOffsetMs));
  }

  await provider.forceFlush();
  await provider.shutdown();

  const exported = results.filter((r) => r.code === ExportResultCode.SUCCESS)
    .reduce((n, r) => n + r.spans, 0);
  const failed = results.filter((r) => r.code !== ExportResultCode.SUCCESS);
  const summary = {
    ok: failed.length === 0 && exported === spanCount,
    protocol: options.protocol,
    endpoint: options.endpoint,
    spans: spanCount,
    exportedSpans: exported,
    requests: results.length,
    traceIds: [...new Set([...started.values()].map((s) => s.spanContext().traceId))],
    partialSuccess,
  };
  if (!summary.ok) {
    const reasons = failed.map((r) => {
      const e = r.error;
      if (e == null) return 'unknown error';
      const code = e.code !== undefined ? ` (code ${e.code})` : '';
      return `${e.message ?? String(e)}${code}`;
    });
    if (reasons.length === 0) reasons.push(`${exported} of ${spanCount} spans were exported`);
    summary.error = reasons.join('; ');
  }
  process.stdout.write(`${JSON.stringify(summary)}\n`);
  if (!summary.ok) {
    process.stderr.write(`send_spans: the export to ${options.endpoint} failed: ${summary.error}\n`);
    // The SDK logs the same failure again (with its stack): only other warnings are shown.
    const known = failed.map((r) => String(r.error?.message ?? '')).filter((m) => m !== '');
    for (const w of warnings) {
      if (!known.some((m) => w.includes(m))) process.stderr.write(`send_spans: ${w}\n`);
    }
    return 1;
  }
  return 0;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(`send_spans: ${e instanceof UsageError ? e.message : e.stack}\n`);
    process.exit(e instanceof UsageError ? 2 : 1);
  },
);
