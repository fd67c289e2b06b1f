#!/usr/bin/env node
/**
 * kvb: benchmarks of KVStore++ that anyone can rerun. Closed-loop HTTP workloads against a
 * kvstored (get-heavy, set-heavy, mixed, and suite, which writes JSON, CSV and an HTML
 * report), open-loop load at a fixed rate with its own Prometheus metrics (load), and the
 * two engines in-process (embedded). `kvb <command> --help` lists every option.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError, Option } from 'commander';
import { CliError, EXIT, type Cell, type Format, fields, fraction, json, nonNegativeInt, normalizeUrl, positiveInt, positiveNumber, reportError, table, usage } from './common.js';
import { readKeyFile } from './secrets.js';
import { type TlsFlags, addTlsOptions, loadTls, tlsEnv } from './tls.js';
import { type Progress, type ScenarioResult, runClosedLoop } from './bench/closed-loop.js';
import { type EngineResult, runEmbedded } from './bench/embedded.js';
import type { LatencySummary } from './bench/histogram.js';
import { HttpTarget, type Mix, OPS } from './bench/http-target.js';
import type { LoadResult } from './bench/open-loop.js';
import { type SuiteReport, machine, toMarkdown, writeReports } from './bench/report.js';
import { packageVersion } from '../version.js';
import { addCompletionCommand } from './completion.js';


interface HttpOptions extends TlsFlags {
  url?: string;
  apiKeyFile?: string;
  connections?: number;
  duration: number;
  keys: number;
  valueSize: number;
  keyPrefix: string;
  preload: boolean;
  format: Format;
  quiet?: boolean;
  outputPrefix?: string;
}

interface ClosedLoopOptions extends HttpOptions {
  concurrency: number;
  warmup: number;
}

// ---------------------------------------------------------------- terminal

/** A progress line on stderr when it is a terminal (and not --quiet or CI); silent otherwise. */
class ProgressLine {
  readonly enabled: boolean;
  constructor(quiet: boolean | undefined) {
    this.enabled = !quiet && process.stderr.isTTY === true && !process.env.CI;
  }
  show(p: Progress): void {
    if (!this.enabled) return;
    const frac = p.totalMs > 0 ? Math.min(1, p.elapsedMs / p.totalMs) : 0;
    const width = 24;
    const bar = '#'.repeat(Math.round(frac * width)).padEnd(width, '.');
    process.stderr.write(`\r\x1b[2K${p.phase.padEnd(22)} [${bar}] ${(p.elapsedMs / 1000).toFixed(1)}/${(p.totalMs / 1000).toFixed(0)} s  ${Math.round(p.rate)} req/s  ${p.requests} done`);
  }
  text(s: string): void {
    if (this.enabled) process.stderr.write(`\r\x1b[2K${s}`);
  }
  clear(): void {
    if (this.enabled) process.stderr.write('\r\x1b[2K');
  }
}

/** Ctrl-C: the first stops the run cleanly (results so far are reported), the second exits now. */
function interruptible(): AbortController {
  const ac = new AbortController();
  const onSignal = (): void => {
    if (ac.signal.aborted) {
      process.stderr.write('\nkvb: second interrupt: exiting without a report\n');
      process.exit(130);
    }
    process.stderr.write('\nkvb: stopping: finishing the requests in flight, then reporting what ran (Ctrl-C again to quit now)\n');
    ac.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return ac;
}

// ---------------------------------------------------------------- shared HTTP set-up

async function apiKey(o: { apiKeyFile?: string }): Promise<string | undefined> {
  if (o.apiKeyFile) return readKeyFile(o.apiKeyFile);
  const env = process.env.KVB_API_KEY?.trim();
  return env ? env : undefined;
}

function urlOf(o: { url?: string }): string {
  const u = o.url ?? process.env.KVB_URL;
  if (!u) throw usage('give the server: --url http://host:port (or KVB_URL)');
  return normalizeUrl(u);
}

/** The options every HTTP mode shares; closed-loop modes add concurrency and warm-up, load its rate. */
function addHttpOptions(cmd: Command, mode: { closed: true; concurrency: number; duration: number } | { closed: false }): Command {
  cmd
    .option('--url <url>', 'kvstored base URL (default: $KVB_URL)')
    .option('--api-key-file <file>', 'file holding an API key ("-" = stdin); default: $KVB_API_KEY. Keys never go in arguments');
  addTlsOptions(cmd, 'KVB');
  if (mode.closed) {
    cmd
      .option('--concurrency <n>', 'requests in flight, one worker each', positiveInt('--concurrency'), mode.concurrency)
      .option('--connections <n>', 'keep-alive connections (default: --concurrency)', positiveInt('--connections'))
      .option('--duration <s>', 'measured seconds (per scenario in a suite)', positiveNumber('--duration'), mode.duration)
      .option('--warmup <s>', 'seconds run before measuring', (v: string) => (v === '0' ? 0 : positiveNumber('--warmup')(v)), 1)
      .option('--output-prefix <path>', 'also write <path>.json, <path>.csv and <path>.html');
  } else {
    cmd
      .option('--connections <n>', 'keep-alive connections', positiveInt('--connections'), 64)
      .option('--duration <s>', 'seconds to run (0 = until Ctrl-C)', (v: string) => (v === '0' ? 0 : positiveNumber('--duration')(v)), 0)
      .option('--output-prefix <path>', 'also write <path>.json');
  }
  return cmd
    .option('--keys <n>', 'size of the key space', positiveInt('--keys'), 10_000)
    .option('--value-size <bytes>', 'value size for writes and preloaded keys', nonNegativeInt('--value-size'), 100)
    .option('--key-prefix <p>', 'prefix of every key kvb touches (the API key needs access to it)', 'kvb:')
    .option('--no-preload', 'skip writing every key once before the run')
    .addOption(new Option('--format <format>', 'result on stdout: a table or JSON').choices(['table', 'json']).default('table'))
    .option('--quiet', 'no progress line');
}

async function openTarget(o: HttpOptions, connections: number, progress: ProgressLine, signal: AbortSignal): Promise<{ target: HttpTarget; server: { engine: string | null; auth: boolean } }> {
  const key = await apiKey(o);
  const url = urlOf(o);
  const tls = loadTls('KVB', o, url);
  const target = new HttpTarget({ url, ...(key ? { apiKey: key } : {}), ...(tls ? { tls } : {}), connections, keys: o.keys, keyPrefix: o.keyPrefix, valueSize: o.valueSize });
  try {
    const server = await target.probe();
    if (o.preload) {
      const t0 = performance.now();
      await target.preload((done) => progress.text(`preloading ${done}/${o.keys} keys`), signal);
      progress.clear();
      if (!o.quiet && o.format === 'table') process.stderr.write(`kvb: preloaded ${o.keys} keys of ${o.valueSize} B in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
    }
    return { target, server };
  } catch (err) {
    await target.close();
    throw err;
  }
}

const latencyCells = (l: LatencySummary): Cell[] => [l.p50Ms, l.p90Ms, l.p99Ms, l.p999Ms, l.maxMs];

/**
 * Was the client the limit? Near a full core of CPU it was. A long event-loop delay with CPU
 * to spare means the machine was short of CPU (kvb waited to be scheduled): the numbers then
 * measure contention, not the server alone.
 */
function clientWarning(s: ScenarioResult): string | null {
  if (s.client.cpuPercent >= 90) {
    return `kvb: warning: in ${s.name} the client used ${s.client.cpuPercent}% of a core: it may be the bottleneck; fewer --connections or a second kvb process would tell`;
  }
  if (s.client.eventLoopP99Ms >= 50) {
    return `kvb: note: in ${s.name} kvb's event loop waited up to ${s.client.eventLoopP99Ms} ms (p99) while using ${s.client.cpuPercent}% of a core: the machine was short of CPU, so the figures include that contention`;
  }
  return null;
}

function scenarioText(s: ScenarioResult): string {
  const rows = Object.entries(s.byOp).map(([op, l]) => [op, l!.count, ...latencyCells(l!)]);
  return fields([
    ['scenario', `${s.name}${s.interrupted ? ' (interrupted)' : ''}`],
    ['mix', s.mixLabel],
    ['concurrency', s.concurrency],
    ['duration', `${s.durationS} s`],
    ['requests', s.requests],
    ['errors', s.errors],
    ['throughput', `${s.throughput} req/s`],
    ['latency (ms)', `p50 ${s.latency.p50Ms}  p90 ${s.latency.p90Ms}  p99 ${s.latency.p99Ms}  p99.9 ${s.latency.p999Ms}  max ${s.latency.maxMs}  mean ${s.latency.meanMs}`],
    ['kvb client', `${s.client.cpuPercent}% CPU, event-loop p99 ${s.client.eventLoopP99Ms} ms`],
  ]) + '\n' + table(['op', 'count', 'p50 ms', 'p90 ms', 'p99 ms', 'p99.9 ms', 'max ms'], rows);
}

function report(o: ClosedLoopOptions, target: HttpTarget, server: { engine: string | null; auth: boolean }, scenarios: ScenarioResult[], startedAt: Date, interrupted: boolean, command: string): SuiteReport {
  return {
    tool: 'kvb', version: packageVersion(), command, startedAt: startedAt.toISOString(), finishedAt: new Date().toISOString(), interrupted,
    machine: machine(), target: { url: target.opts.url, engine: server.engine, auth: server.auth },
    params: { concurrency: o.concurrency, connections: o.connections ?? o.concurrency, durationS: o.duration, warmupS: o.warmup, keys: o.keys, valueSize: o.valueSize, keyPrefix: o.keyPrefix },
    scenarios,
  };
}

const readMix = (r: number): Mix => ({ get: r, set: Number((1 - r).toFixed(6)), del: 0, incr: 0 });

async function closedLoop(name: string, mixes: Array<[string, Mix]>, o: ClosedLoopOptions, command: string): Promise<void> {
  const ac = interruptible();
  const progress = new ProgressLine(o.quiet);
  const startedAt = new Date();
  const { target, server } = await openTarget(o, o.connections ?? o.concurrency, progress, ac.signal);
  const results: ScenarioResult[] = [];
  try {
    for (const [scenario, mix] of mixes) {
      if (ac.signal.aborted) break;
      const r = await runClosedLoop(target, { name: scenario, mix, concurrency: o.concurrency, durationMs: o.duration * 1000, warmupMs: o.warmup * 1000 }, ac.signal, (p) => progress.show(p));
      progress.clear();
      results.push(r);
      if (o.format === 'table' && !o.quiet && mixes.length > 1) process.stderr.write(`kvb: ${scenario}: ${r.throughput} req/s, p99 ${r.latency.p99Ms} ms\n`);
    }
  } finally {
    await target.close();
  }
  const rep = report(o, target, server, results, startedAt, ac.signal.aborted, command);
  const files = o.outputPrefix ? writeReports(o.outputPrefix, rep) : [];
  if (o.format === 'json') process.stdout.write(json(rep));
  else {
    if (results.length === 1) process.stdout.write(scenarioText(results[0]!));
    else process.stdout.write(toMarkdown(results));
    for (const r of results) {
      const w = clientWarning(r);
      if (w) process.stderr.write(w + '\n');
    }
  }
  if (files.length && !o.quiet) process.stderr.write(`kvb: wrote ${files.join(', ')}\n`);
  if (ac.signal.aborted) {
    process.stderr.write(`kvb: interrupted: reported ${results.length} scenario(s)${name === 'suite' ? ` of ${mixes.length}` : ''}\n`);
    process.exitCode = 130;
  }
}

// ---------------------------------------------------------------- load

interface LoadOptions extends HttpOptions {
  rate: number;
  get?: number;
  set?: number;
  del?: number;
  incr?: number;
  metricsPort?: number;
  metricsHost: string;
  maxInflight: number;
}

function loadMix(o: LoadOptions): Mix {
  const given = OPS.filter((op) => o[op] !== undefined);
  if (given.length === 0) return { get: 0.8, set: 0.2, del: 0, incr: 0 };
  const mix = Object.fromEntries(OPS.map((op) => [op, o[op] ?? 0])) as Mix;
  const sum = OPS.reduce((n, op) => n + mix[op], 0);
  if (Math.abs(sum - 1) > 1e-6) throw usage(`--get, --set, --del and --incr must add up to 1; they add up to ${Number(sum.toFixed(6))}`);
  return mix;
}

function loadText(r: LoadResult): string {
  return fields([
    ['mode', `open loop at ${r.targetRate} req/s${r.interrupted ? ' (interrupted)' : ''}`],
    ['mix', r.mixLabel],
    ['duration', `${r.durationS} s`],
    ['sent / completed', `${r.sent} / ${r.completed}`],
    ['achieved', `${r.achievedRate} req/s`],
    ['errors', r.errors],
    ['dropped', `${r.dropped}${r.dropped ? ' (too many in flight: the server could not keep up)' : ''}`],
  ]) + '\n' + table(['latency', 'count', 'p50 ms', 'p90 ms', 'p99 ms', 'p99.9 ms', 'max ms'], [
    ['response (from due time)', r.responseTime.count, ...latencyCells(r.responseTime)],
    ['service (from send)', r.serviceTime.count, ...latencyCells(r.serviceTime)],
    ...Object.entries(r.byOp).map(([op, l]) => [`  ${op} response`, l!.count, ...latencyCells(l!)]),
  ]);
}

async function load(o: LoadOptions): Promise<void> {
  const mix = loadMix(o);
  const ac = interruptible();
  const progress = new ProgressLine(o.quiet);
  // Loaded here, not at the top: closed-loop runs need not pay for prom-client.
  const { LoadMetrics, runOpenLoop } = await import('./bench/open-loop.js');
  const metrics = o.metricsPort === undefined ? null : new LoadMetrics();
  try {
    if (metrics) {
      const at = await metrics.listen(o.metricsPort!, o.metricsHost);
      process.stderr.write(`kvb: metrics on ${at}\n`);
    }
    const { target } = await openTarget(o, o.connections ?? 64, progress, ac.signal);
    let r: LoadResult;
    try {
      r = await runOpenLoop(target, { rate: o.rate, mix, durationMs: o.duration * 1000, maxInflight: o.maxInflight }, metrics, ac.signal, (t) => {
        if (progress.enabled) progress.text(`load ${(t.elapsedMs / 1000).toFixed(0)}${t.totalMs ? `/${t.totalMs / 1000}` : ''} s  ${t.rate} req/s (target ${o.rate})  p99 ${t.p99Ms} ms  in flight ${t.inflight}  errors ${t.errors}  dropped ${t.dropped}`);
      });
    } finally {
      progress.clear();
      await target.close();
    }
    process.stdout.write(o.format === 'json' ? json(r) : loadText(r));
    if (o.outputPrefix) {
      fs.mkdirSync(path.dirname(path.resolve(o.outputPrefix)), { recursive: true });
      fs.writeFileSync(`${o.outputPrefix}.json`, JSON.stringify({ tool: 'kvb', version: packageVersion(), machine: machine(), result: r }, null, 2) + '\n');
    }
    if (r.interrupted) process.exitCode = 130;
  } finally {
    await metrics?.close();
  }
}

// ---------------------------------------------------------------- embedded

interface EmbeddedOptions {
  engine: string[];
  keys: number;
  ops?: number;
  valueSize: number;
  concurrency: number;
  durability: 'always' | 'interval' | 'none';
  dir?: string;
  format: Format;
  quiet?: boolean;
  outputPrefix?: string;
  child?: boolean;
}

async function embeddedChild(o: EmbeddedOptions): Promise<void> {
  let stopped = false;
  process.on('SIGINT', () => void (stopped = true));
  process.on('SIGTERM', () => void (stopped = true));
  const talk = !o.quiet && process.stderr.isTTY === true && !process.env.CI;
  const r = await runEmbedded(
    { engine: o.engine[0] as 'native' | 'js', keys: o.keys, ops: o.ops ?? o.keys, valueSize: o.valueSize, concurrency: o.concurrency, durability: o.durability, ...(o.dir ? { dir: o.dir } : {}) },
    () => stopped,
    (msg) => void (talk && process.stderr.write(`\r\x1b[2K${msg}…`)),
  );
  if (talk) process.stderr.write('\r\x1b[2K');
  process.stdout.write(JSON.stringify(r) + '\n');
}

function runChild(args: string[], onSpawn: (kill: () => void) => void): Promise<EngineResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [fileURLToPath(import.meta.url), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    onSpawn(() => child.kill('SIGINT'));
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (c: string) => void (out += c));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const line = out.trim().split('\n').pop() ?? '';
      try {
        resolve(JSON.parse(line) as EngineResult);
      } catch {
        reject(new CliError('INTERNAL', `the ${args[2]} engine run failed (exit ${code ?? signal}); its errors are above`));
      }
    });
  });
}

async function embedded(o: EmbeddedOptions): Promise<void> {
  if (o.child) return embeddedChild(o);
  for (const e of o.engine) if (e !== 'native' && e !== 'js') throw usage(`--engine takes native, js or both (native,js), got ${JSON.stringify(e)}`);
  let kill: (() => void) | null = null;
  let interrupted = false;
  const onSignal = (): void => {
    if (interrupted) process.exit(130);
    interrupted = true;
    process.stderr.write('\nkvb: stopping the engine run in progress; reporting what ran (Ctrl-C again to quit now)\n');
    kill?.();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const results: EngineResult[] = [];
  for (const engine of o.engine) {
    if (interrupted) break;
    const args = ['embedded', '--engine', engine, '--keys', String(o.keys), '--ops', String(o.ops ?? o.keys), '--value-size', String(o.valueSize),
      '--concurrency', String(o.concurrency), '--durability', o.durability, '--child', ...(o.dir ? ['--dir', o.dir] : []), ...(o.quiet ? ['--quiet'] : [])];
    results.push(await runChild(args, (k) => void (kill = k)));
    kill = null;
  }
  const payload = { tool: 'kvb', version: packageVersion(), machine: machine(), params: { keys: o.keys, ops: o.ops ?? o.keys, valueSize: o.valueSize, concurrency: o.concurrency, durability: o.durability }, engines: results, interrupted };
  const rows = results.flatMap((r) => r.phases.map((p) => [r.engine, p.phase, p.ops, p.seconds, p.opsPerSec, ...[p.latency.p50Ms, p.latency.p99Ms, p.latency.p999Ms, p.latency.maxMs].map((ms) => Math.round(ms * 1000 * 10) / 10), p.note ?? '']));
  if (o.format === 'json') process.stdout.write(json(payload));
  else {
    process.stdout.write(`${o.keys} keys, ${o.valueSize} B values, ${o.ops ?? o.keys} ops per phase, concurrency ${o.concurrency}, durability ${o.durability}\n`);
    process.stdout.write(table(['engine', 'phase', 'ops', 'seconds', 'ops/s', 'p50 µs', 'p99 µs', 'p99.9 µs', 'max µs', 'note'], rows));
  }
  if (o.outputPrefix) {
    fs.mkdirSync(path.dirname(path.resolve(o.outputPrefix)), { recursive: true });
    fs.writeFileSync(`${o.outputPrefix}.json`, JSON.stringify(payload, null, 2) + '\n');
    fs.writeFileSync(`${o.outputPrefix}.csv`, ['engine,phase,ops,seconds,ops_per_s,p50_us,p99_us,p999_us,max_us,note', ...rows.map((r) => r.map((c) => (typeof c === 'string' && /[",]/.test(c) ? `"${c.replace(/"/g, '""')}"` : String(c))).join(','))].join('\n') + '\n');
  }
  if (interrupted) process.exitCode = 130;
}

// ---------------------------------------------------------------- the program

function build(): Command {
  const program = new Command('kvb');
  program
    .description('Benchmarks for KVStore++: closed-loop HTTP workloads, an HTML/JSON/CSV suite report, open-loop load with Prometheus metrics, and the engines in-process.')
    .version(packageVersion())
    .exitOverride()
    .showHelpAfterError('(add --help for usage)')
    .addHelpText('after', `
Workloads (random keys over --keys preloaded keys):
  get-heavy   95% GET / 5% PUT          set-heavy   5% GET / 95% PUT
  mixed       --read-ratio GET, the rest PUT      suite   get-heavy, set-heavy, mixed (0.8)
Credentials: an API key from KVB_API_KEY or --api-key-file (never an argument); it needs
read and write on --key-prefix. HTTPS with a private CA or mutual TLS: --cacert, --cert and
--key, or ${tlsEnv('KVB').ca}, ${tlsEnv('KVB').cert}, ${tlsEnv('KVB').key}.
Ctrl-C stops cleanly and reports what ran (exit 130).
Exit codes: 0 ok · 1 failed · 2 usage error · 3 authentication failed.

Examples:
  kvb get-heavy --url http://localhost:8080 --concurrency 50 --duration 30
  kvb set-heavy --url http://localhost:8080 --value-size 256 --concurrency 25 --duration 30
  kvb mixed --url http://localhost:8080 --read-ratio 0.8 --concurrency 100 --duration 60
  kvb suite --url http://localhost:8080 --concurrency 100 --duration 60 --output-prefix prod-bench
  kvb embedded --engine native,js --keys 1000000 --value-size 100
  kvb load --rate 5000 --get 0.7 --set 0.2 --del 0.05 --incr 0.05 --metrics-port 9095 --url http://localhost:8080`);

  addHttpOptions(program.command('get-heavy').description('closed loop, 95% GET / 5% PUT'), { closed: true, concurrency: 50, duration: 30 })
    .action(async (o: ClosedLoopOptions) => closedLoop('get-heavy', [['get-heavy', readMix(0.95)]], o, 'get-heavy'));
  addHttpOptions(program.command('set-heavy').description('closed loop, 5% GET / 95% PUT'), { closed: true, concurrency: 25, duration: 30 })
    .action(async (o: ClosedLoopOptions) => closedLoop('set-heavy', [['set-heavy', readMix(0.05)]], o, 'set-heavy'));
  addHttpOptions(program.command('mixed').description('closed loop, --read-ratio GET and the rest PUT'), { closed: true, concurrency: 100, duration: 60 })
    .option('--read-ratio <r>', 'fraction of GETs, 0..1', fraction('--read-ratio'), 0.5)
    .action(async (o: ClosedLoopOptions & { readRatio: number }) => closedLoop('mixed', [[`mixed`, readMix(o.readRatio)]], o, 'mixed'));
  addHttpOptions(program.command('suite').description('get-heavy, set-heavy and mixed (80% reads) in turn; writes <prefix>.json, .csv and .html'), { closed: true, concurrency: 100, duration: 60 })
    .action(async (o: ClosedLoopOptions) => {
      o.outputPrefix ??= 'kvb-suite';
      await closedLoop('suite', [['get-heavy', readMix(0.95)], ['set-heavy', readMix(0.05)], ['mixed', readMix(0.8)]], o, 'suite');
    });

  addHttpOptions(program.command('load').description('open loop at a fixed rate, corrected for coordinated omission, with Prometheus metrics'), { closed: false })
    .requiredOption('--rate <n>', 'requests per second to send', positiveNumber('--rate'))
    .option('--get <f>', 'fraction of GETs', fraction('--get'))
    .option('--set <f>', 'fraction of PUTs', fraction('--set'))
    .option('--del <f>', 'fraction of DELETEs', fraction('--del'))
    .option('--incr <f>', 'fraction of counter increments', fraction('--incr'))
    .option('--metrics-port <port>', 'serve kvb’s Prometheus metrics on this port (0 = any free port, printed)', nonNegativeInt('--metrics-port'))
    .option('--metrics-host <host>', 'address for the metrics endpoint', '127.0.0.1')
    .option('--max-inflight <n>', 'requests outstanding before new ones are dropped (and counted)', positiveInt('--max-inflight'), 10_000)
    .action(async (o: LoadOptions) => load(o));

  program
    .command('embedded')
    .description('the native and pure-TS engines in-process (no HTTP): load, random gets, mixed, reopen; each engine in a fresh process')
    .option('--engine <list>', 'engines to compare, comma-separated', (v: string) => v.split(',').map((s) => s.trim()).filter(Boolean), ['native', 'js'])
    .option('--keys <n>', 'keys to load', positiveInt('--keys'), 100_000)
    .option('--ops <n>', 'operations per get / mixed phase (default: --keys)', positiveInt('--ops'))
    .option('--value-size <bytes>', 'value size', nonNegativeInt('--value-size'), 100)
    .option('--concurrency <n>', 'writes in flight in load and mixed', positiveInt('--concurrency'), 64)
    .addOption(new Option('--durability <d>', 'when a write resolves').choices(['always', 'interval', 'none']).default('always'))
    .option('--dir <dir>', 'parent directory for the scratch stores (default: the OS temp dir)')
    .option('--output-prefix <path>', 'also write <path>.json and <path>.csv')
    .addOption(new Option('--format <format>', 'result on stdout').choices(['table', 'json']).default('table'))
    .option('--quiet', 'no progress line')
    .addOption(new Option('--child').hideHelp())
    .action(async (o: EmbeddedOptions) => embedded(o));
  addCompletionCommand(program, (text) => void process.stdout.write(text));
  return program;
}

async function main(): Promise<void> {
  const format: Format = process.argv.includes('--format=json') || process.argv.join(' ').includes('--format json') ? 'json' : 'table';
  try {
    await build().parseAsync(process.argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
      return;
    }
    process.exitCode = reportError('kvb', err, format);
  }
  // Sockets or timers left by an interrupted run must not keep the process alive.
  if (process.exitCode === 130) setTimeout(() => process.exit(130), 2000).unref();
}

// `kvb … --format json | head -1`: a reader that goes away early is not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});
void main();
