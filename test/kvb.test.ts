/**
 * kvb for real: short runs (1-2 s) of the real binary against a real kvstored child process
 * with authentication on, checking the JSON and CSV shapes and that the numbers are
 * plausible (traffic happened, percentiles ordered, open-loop arithmetic adds up), the load
 * mode's Prometheus endpoint, Ctrl-C, the failures' exit codes, the embedded engine
 * comparison, and that the suite's HTML report renders in headless Chromium.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { CSV_COLUMNS } from '../ts/cli/bench/report.js';
import { ADMIN_PASSWORD, KVB, KVCTL, type Run, type Server, closedPort, runCli, startCli, startKvstored, until } from './cli-proc.js';
import { ENGINES, tempDir } from './helpers.js';
import { assertPromtoolAccepts } from './promtool.js';

const test = suite('kvb');
const root = tempDir('kvb');
let server: Server;
let apiKey = '';

interface Lat { count: number; meanMs: number; p50Ms: number; p90Ms: number; p99Ms: number; p999Ms: number; maxMs: number }
interface Scenario { name: string; requests: number; errors: number; throughput: number; durationS: number; latency: Lat; timeline: Array<{ t: number; ops: number }>; distribution: Array<{ percentile: number; ms: number }>; client: { cpuPercent: number }; interrupted: boolean }
interface Report { tool: string; interrupted: boolean; target: { url: string; engine: string; auth: boolean }; machine: { cpus: number }; params: { concurrency: number }; scenarios: Scenario[] }

const kvb = (args: string[], env: Record<string, string> = { KVB_API_KEY: apiKey }): Promise<Run> => runCli(KVB, args, { env, timeoutMs: 60_000 });
function ok(r: Run): Run {
  assert.is(r.code, 0, `exit ${r.code}\nstdout: ${r.stdout.slice(0, 3000)}\nstderr: ${r.stderr}`);
  return r;
}
const SHORT = ['--warmup', '0', '--keys', '300', '--concurrency', '4', '--quiet'];

function plausible(l: Lat, what: string): void {
  assert.ok(l.count > 0, `${what}: latencies recorded`);
  assert.ok(l.p50Ms > 0, `${what}: p50 > 0`);
  const seq = [l.p50Ms, l.p90Ms, l.p99Ms, l.p999Ms];
  for (let i = 1; i < seq.length; i++) assert.ok(seq[i - 1]! <= seq[i]!, `${what}: percentiles ordered ${seq.join(' ≤ ')}`);
  assert.ok(l.p999Ms <= l.maxMs, `${what}: p99.9 ${l.p999Ms} ≤ max ${l.maxMs}`);
  assert.ok(l.meanMs > 0 && l.meanMs <= l.maxMs * 1.001, `${what}: mean within range`);
}

test.before(async () => {
  server = await startKvstored(path.join(root, 'data'));
  const env = { KVCTL_URL: server.url, KVCTL_CONFIG_DIR: path.join(root, 'cfg') };
  ok(await runCli(KVCTL, ['login', 'admin'], { input: ADMIN_PASSWORD, env }));
  ok(await runCli(KVCTL, ['role', 'create', 'bench-rw', '--allow', 'kvb:=all'], { env }));
  ok(await runCli(KVCTL, ['user', 'create', 'bench', '--role', 'bench-rw'], { env }));
  apiKey = ok(await runCli(KVCTL, ['apikey', 'create', 'kvb-test', '--owner', 'bench'], { env })).stdout.trim();
});
test.after(async () => {
  await server?.stop();
});

test('get-heavy: a short closed-loop run reports traffic and ordered percentiles (JSON)', async () => {
  const r = JSON.parse(ok(await kvb(['get-heavy', '--url', server.url, '--duration', '2', ...SHORT, '--format', 'json'])).stdout) as Report;
  assert.is(r.tool, 'kvb');
  assert.equal([r.target.url, r.target.auth], [server.url, true]);
  assert.ok(['native', 'js'].includes(r.target.engine));
  const s = r.scenarios[0]!;
  assert.is(s.name, 'get-heavy');
  assert.is(s.errors, 0);
  assert.ok(s.requests > 20, `requests ${s.requests}`);
  assert.ok(s.durationS >= 1.9 && s.durationS <= 2.1, `measured ${s.durationS} s`);
  assert.ok(Math.abs(s.throughput - s.requests / s.durationS) <= 1, 'throughput = requests / duration');
  plausible(s.latency, 'get-heavy');
  assert.is(s.latency.count, s.requests);
  assert.ok(s.timeline.length >= 1 && s.timeline.every((p) => p.ops > 0), 'a point per second with traffic');
  assert.ok(s.client.cpuPercent > 0);
});

test('suite writes JSON, CSV and HTML whose numbers agree', async () => {
  const prefix = path.join(root, 'out', 'bench');
  const run = ok(await kvb(['suite', '--url', server.url, '--duration', '1', ...SHORT, '--output-prefix', prefix]));
  assert.match(run.stdout, '| get-heavy |');
  const rep = JSON.parse(fs.readFileSync(`${prefix}.json`, 'utf8')) as Report;
  assert.equal(rep.scenarios.map((s) => s.name), ['get-heavy', 'set-heavy', 'mixed']);
  assert.is(rep.interrupted, false);
  for (const s of rep.scenarios) {
    assert.ok(s.requests > 0 && s.throughput > 0, `${s.name} ran`);
    plausible(s.latency, s.name);
    assert.ok(s.distribution.length > 50 && s.distribution.every((d, i, a) => i === 0 || (d.percentile > a[i - 1]!.percentile && d.ms >= a[i - 1]!.ms)), 'distribution monotone');
  }
  const lines = fs.readFileSync(`${prefix}.csv`, 'utf8').trim().split('\n');
  assert.is(lines[0], CSV_COLUMNS.join(','));
  assert.is(lines.length, 4);
  for (const [i, line] of lines.slice(1).entries()) {
    const cells = line.split(',');
    assert.is(cells.length, CSV_COLUMNS.length, line);
    const col = (name: (typeof CSV_COLUMNS)[number]): string => cells[CSV_COLUMNS.indexOf(name)]!;
    const s = rep.scenarios[i]!;
    assert.is(col('scenario'), s.name);
    assert.is(Number(col('requests')), s.requests);
    assert.is(Number(col('p99_ms')), s.latency.p99Ms);
    assert.ok(Number(col('p50_ms')) <= Number(col('p90_ms')) && Number(col('p90_ms')) <= Number(col('p99_ms')));
  }
  const html = fs.readFileSync(`${prefix}.html`, 'utf8');
  assert.match(html, '<svg id="latency-chart"');
  assert.match(html, '<svg id="throughput-chart"');
  assert.not.match(html, /(src|href)=["']?(https?:)?\/\//, 'nothing fetched from the network');
});

/** Debian's chromium (CHROMIUM_BIN overrides); .ci/run installs it and sets KVB_REQUIRE_CHROMIUM=1. */
function chromium(): string | null {
  const candidates = [process.env.CHROMIUM_BIN, 'chromium', 'chromium-browser'].filter((x): x is string => !!x);
  for (const c of candidates) if (spawnSync(c, ['--version'], { encoding: 'utf8' }).status === 0) return c;
  return null;
}

test('the HTML report renders in headless Chromium: both charts laid out with one series per scenario', async () => {
  const bin = chromium();
  if (!bin) {
    if (process.env.KVB_REQUIRE_CHROMIUM || process.env.CI) assert.unreachable('chromium is not installed (apt-get install chromium; .ci/run does)');
    console.log('  (chromium not installed: render check not run; CI requires it)');
    return;
  }
  const html = path.join(root, 'out', 'bench.html');
  assert.ok(fs.existsSync(html), 'the suite test wrote the report');
  const flags = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', `--user-data-dir=${tempDir('chromium')}`, '--window-size=1000,1400'];
  const dom = spawnSync(bin, [...flags, '--dump-dom', `file://${html}`], { encoding: 'utf8', timeout: 60_000 });
  assert.is(dom.status, 0, dom.stderr);
  const rendered = /data-rendered="([^"]*)"/.exec(dom.stdout)?.[1];
  assert.ok(rendered, 'the page script ran and measured the charts');
  for (const id of ['latency-chart', 'throughput-chart']) {
    const m = new RegExp(`${id}:(\\d+)x(\\d+):(\\d+)`).exec(rendered!);
    assert.ok(m, `${id} in ${rendered}`);
    assert.ok(Number(m![1]) > 400 && Number(m![2]) > 200, `${id} laid out at ${m![1]}x${m![2]}`);
    assert.is(Number(m![3]), 3, `${id}: one line per scenario`);
  }
  const png = path.join(root, 'out', 'bench.png');
  const shot = spawnSync(bin, [...flags, `--screenshot=${png}`, `file://${html}`], { encoding: 'utf8', timeout: 60_000 });
  assert.is(shot.status, 0, shot.stderr);
  const head = fs.readFileSync(png);
  assert.ok(head.subarray(1, 4).toString() === 'PNG' && head.length > 20_000, `a real screenshot (${head.length} B)`);
  assert.is(head.readUInt32BE(16), 1000, 'PNG width');
});

test('load: open loop at a fixed rate; Prometheus metrics while it runs; sent = completed + dropped', async () => {
  const run = startCli(KVB, ['load', '--url', server.url, '--rate', '200', '--duration', '2', '--get', '0.7', '--set', '0.2', '--del', '0.05', '--incr', '0.05',
    '--metrics-port', '0', '--keys', '300', '--connections', '4', '--quiet', '--format', 'json'], { KVB_API_KEY: apiKey });
  await until(() => /metrics on (http:\/\/\S+)/.test(run.stderr()), 'the metrics URL');
  const url = /metrics on (http:\/\/\S+)/.exec(run.stderr())![1]!;
  await new Promise((r) => setTimeout(r, 1200));
  const text = await (await fetch(url)).text();
  assert.match(text, 'kvb_target_rate 200');
  assert.match(text, /kvb_requests_total\{op="get",outcome="(ok|miss)"\} \d+/);
  assert.match(text, 'kvb_response_time_seconds_bucket');
  assertPromtoolAccepts(text, 'kvb load /metrics');
  const done = await run.done;
  assert.is(done.code, 0, done.stderr);
  const r = JSON.parse(done.stdout) as { sent: number; completed: number; dropped: number; errors: number; achievedRate: number; responseTime: Lat; serviceTime: Lat; byOp: Record<string, Lat> };
  assert.ok(r.sent >= 340 && r.sent <= 420, `about 2 s × 200/s sent: ${r.sent}`);
  assert.is(r.completed + r.dropped, r.sent);
  assert.is(r.errors, 0);
  assert.ok(r.achievedRate > 100, `achieved ${r.achievedRate}/s`);
  plausible(r.responseTime, 'response time');
  plausible(r.serviceTime, 'service time');
  // measured from the due time, a response time is never shorter than the same request's service time
  assert.ok(r.responseTime.p99Ms >= r.serviceTime.p99Ms && r.responseTime.p50Ms >= r.serviceTime.p50Ms);
  assert.equal(Object.keys(r.byOp).sort(), ['del', 'get', 'incr', 'set']);
});

/** The server's count of answered HTTP requests, from its /metrics. */
async function requestsServed(): Promise<number> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  let n = 0;
  for (const m of text.matchAll(/^kvstore_http_requests_total\{[^}]*\} (\d+)$/gm)) n += Number(m[1]);
  return n;
}

test('Ctrl-C stops a run cleanly and reports what ran (exit 130)', async () => {
  const before = await requestsServed();
  const run = startCli(KVB, ['mixed', '--url', server.url, '--duration', '60', ...SHORT, '--no-preload', '--format', 'json'], { KVB_API_KEY: apiKey });
  // Interrupt once the run is under way (its requests reach the server), not after a fixed
  // sleep: on a loaded machine kvb may not have started, nor set its SIGINT handler, by then.
  const t1 = Date.now();
  while ((await requestsServed()) < before + 200) {
    assert.ok(Date.now() - t1 < 30_000 && run.proc.exitCode === null, `kvb's run did not get under way: ${run.stderr()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  run.proc.kill('SIGINT');
  const t0 = Date.now();
  const done = await run.done;
  assert.ok(Date.now() - t0 < 10_000, 'stopped promptly');
  assert.is(done.code, 130, done.stderr);
  const rep = JSON.parse(done.stdout) as Report;
  assert.is(rep.interrupted, true);
  assert.is(rep.scenarios[0]!.interrupted, true);
  assert.ok(rep.scenarios[0]!.requests > 0 && rep.scenarios[0]!.durationS < 30);
  assert.match(done.stderr, 'interrupted');
});

test('failures: no or a bad API key exits 3, a bad command line 2, a server that is down 1', async () => {
  const noKey = await kvb(['get-heavy', '--url', server.url, '--duration', '1', ...SHORT], {});
  assert.is(noKey.code, 3, noKey.stderr);
  assert.match(noKey.stderr, 'KVB_API_KEY');
  assert.is((await kvb(['get-heavy', '--url', server.url, '--duration', '1', ...SHORT], { KVB_API_KEY: 'kvs_0000000000000000_bad' })).code, 3);
  assert.is((await kvb(['load', '--url', server.url])).code, 2); // --rate is required
  const sum = await kvb(['load', '--url', server.url, '--rate', '10', '--get', '0.5', '--set', '0.2']);
  assert.is(sum.code, 2);
  assert.match(sum.stderr, 'add up to 1');
  assert.is((await kvb(['get-heavy', '--url', server.url, '--concurrency', '0'])).code, 2);
  assert.is((await kvb(['get-heavy', '--duration', '1'])).code, 2); // no URL
  const port = await closedPort();
  const down = await kvb(['get-heavy', '--url', `http://127.0.0.1:${port}`, '--duration', '1', ...SHORT]);
  assert.is(down.code, 1, down.stderr);
  assert.match(down.stderr, 'UNREACHABLE');
});

test('embedded compares the engines in-process on the same workloads, each recovering every key', async () => {
  const r = JSON.parse(ok(await kvb(['embedded', '--engine', ENGINES.join(','), '--keys', '2000', '--concurrency', '32', '--quiet', '--format', 'json'], {})).stdout) as {
    engines: Array<{ engine: string; phases: Array<{ phase: string; ops: number; opsPerSec: number; latency: Lat; note?: string }> }>;
  };
  assert.equal(r.engines.map((e) => e.engine), ENGINES);
  for (const e of r.engines) {
    assert.equal(e.phases.map((p) => p.phase), ['load', 'get', 'mixed', 'reopen']);
    for (const p of e.phases) assert.ok(p.opsPerSec > 0, `${e.engine} ${p.phase}`);
    for (const p of e.phases.slice(0, 3)) {
      assert.is(p.ops, 2000);
      plausible(p.latency, `${e.engine} ${p.phase}`);
    }
    assert.is(e.phases[3]!.note, '2000 keys recovered');
  }
});

test.run();
