// Runs the real llm_exporter binary for the tests: on a free loopback port, its unix socket off,
// logging to a temp file, stopped with SIGTERM. The binary is $LLM_EXPORTER_BIN (set by ctest),
// else build/llm_exporter of this checkout. Kept out of test/, which `node --test test/` runs whole.
import { spawn } from 'node:child_process';
import { accessSync, closeSync, constants, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const NODE_DIR = path.resolve(HERE, '..');
export const SOURCE_DIR = path.resolve(NODE_DIR, '..', '..');
export const BINARY = process.env.LLM_EXPORTER_BIN || path.join(SOURCE_DIR, 'build', 'llm_exporter');

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** A loopback TCP port that nothing listens on right now. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/**
 * Polls `predicate` (sync or async) until it returns a truthy value, which it returns. Generous
 * deadlines: the agent may be a slow sanitizer build.
 */
export async function waitUntil(predicate, { timeoutMs = 30_000, intervalMs = 20, what = 'condition' } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await predicate();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

/** A running llm_exporter; `args` are extra command-line flags. */
export class Agent {
  constructor(args = []) {
    this.extraArgs = args;
    this.tmp = mkdtempSync(path.join(os.tmpdir(), 'llmx-node-'));
    this.logPath = path.join(this.tmp, 'agent.log');
  }

  /** Writes `text` to a file in the agent's temp dir and returns its path. */
  file(name, text) {
    const p = path.join(this.tmp, name);
    writeFileSync(p, text);
    return p;
  }

  async start() {
    try {
      accessSync(BINARY, constants.X_OK);
    } catch {
      throw new Error(`no agent binary at ${BINARY}: build it, or set LLM_EXPORTER_BIN`);
    }
    this.port = await freePort();
    this.url = `http://127.0.0.1:${this.port}`;
    const args = [`--web.listen-address=127.0.0.1:${this.port}`, '--ingest.listen-unix=',
      ...this.extraArgs];
    // Under the sanitizers each thread carries shadow state: keep the HTTP workers few.
    if (process.env.LLM_EXPORTER_SANITIZE && !args.some((a) => a.startsWith('--web.threads'))) {
      args.push('--web.threads=64');
    }
    const log = openSync(this.logPath, 'a');
    this.proc = spawn(BINARY, args, { stdio: ['ignore', log, log] });
    closeSync(log);
    this.exited = new Promise((resolve) => this.proc.once('exit', (code, signal) => resolve({ code, signal })));
    this.proc.once('error', () => {}); // reported through `exited` and the readiness wait
    let exit = null;
    this.exited.then((e) => { exit = e; });
    await waitUntil(async () => {
      if (exit) throw new Error(`agent exited with ${JSON.stringify(exit)}: ${this.log()}`);
      try {
        return (await fetch(`${this.url}/-/ready`)).status === 200;
      } catch {
        return false;
      }
    }, { what: `agent on port ${this.port} to be ready` });
    return this;
  }

  log() {
    try {
      return readFileSync(this.logPath, 'utf8');
    } catch {
      return '';
    }
  }

  /** SIGTERM, then waits; throws unless the agent exits 0 (a sanitizer report, a crash). */
  async stop() {
    if (!this.proc) return;
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill('SIGTERM');
    const { code, signal } = await this.exited;
    const log = this.log();
    rmSync(this.tmp, { recursive: true, force: true });
    if (code !== 0) throw new Error(`agent exited with ${code ?? signal}; log:\n${log.slice(-4000)}`);
  }

  async scrape({ openMetrics = false } = {}) {
    const headers = openMetrics ? { Accept: 'application/openmetrics-text; version=1.0.0' } : {};
    const response = await fetch(`${this.url}/metrics`, { headers });
    const text = await response.text();
    if (response.status !== 200) throw new Error(`/metrics answered ${response.status}: ${text}`);
    return new Metrics(text);
  }
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*?)\})?\s+(\S+)(\s+\S+)?(\s+#\s+(.*))?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

function labelsOf(text) {
  const labels = {};
  for (const [, key, value] of (text || '').matchAll(LABEL)) {
    labels[key] = value.replace(/\\(.)/g, (_, c) => (c === 'n' ? '\n' : c));
  }
  return labels;
}

/** One parsed scrape (text format or OpenMetrics); value() looks a sample up by exact labels. */
export class Metrics {
  constructor(text) {
    this.text = text;
    this.samples = []; // {name, labels, value, exemplar?: {labels, value}}
    for (const line of text.split('\n')) {
      if (!line || line.startsWith('#')) continue;
      const m = SAMPLE.exec(line);
      if (!m) throw new Error(`unparsable exposition line: ${JSON.stringify(line)}`);
      const sample = { name: m[1], labels: labelsOf(m[3]), value: Number(m[4]) };
      if (m[7]) {
        const e = /^\{(.*?)\}\s+(\S+)/.exec(m[7]);
        if (e) sample.exemplar = { labels: labelsOf(e[1]), value: Number(e[2]) };
      }
      this.samples.push(sample);
    }
  }

  find(name, labels = {}) {
    const keys = Object.keys(labels);
    return this.samples.find((s) => s.name === name &&
      Object.keys(s.labels).length === keys.length &&
      keys.every((k) => s.labels[k] === String(labels[k])));
  }

  /** The sample's value, or undefined when no sample has exactly these labels. */
  value(name, labels = {}) {
    return this.find(name, labels)?.value;
  }

  /** Sum over every sample of `name` whose labels include `match`. */
  sum(name, match = {}) {
    return this.samples.filter((s) => s.name === name &&
      Object.entries(match).every(([k, v]) => s.labels[k] === String(v)))
      .reduce((total, s) => total + s.value, 0);
  }

  /** The cumulative bucket counts of one histogram series, in the order of `bounds`. */
  buckets(name, bounds, labels = {}) {
    return bounds.map((le) => this.value(`${name}_bucket`, { ...labels, le: leLabel(le) }));
  }
}

/** A bucket bound as the exposition spells it: 1 -> "1.0", 0.25 -> "0.25". */
export function leLabel(bound) {
  if (typeof bound === 'string') return bound;
  return Number.isInteger(bound) ? `${bound}.0` : String(bound);
}

export const LATENCY_LE = [0.1, 0.5, 1, 2, 5, 10, 30, '+Inf'];
export const TTFT_LE = [0.1, 0.25, 0.5, 1, 2, 5, '+Inf'];
export const QUALITY_LE = [1, 2, 3, 4, 5, '+Inf'];
