/**
 * Watch benchmark (issue 18): events/s delivered to 1 and to 1,000 watchers while writers
 * saturate the store under durability 'always', next to the write rate with no watcher; and
 * put → event latency (p50/p99), embedded and over HTTP (SSE through kvstored and the
 * client), with puts paced so each latency is one write's, not a queue's, split into the put's
 * own acknowledgement (durable) and what the feed adds after it.
 * Prints a table and writes bench/out/watch.json. Not part of npm test.
 *
 *   npx tsc -p tsconfig.json && node dist/bench/watch.js [--seconds 3] [--engine native] [--inflight 64] [--latency-puts 1000]
 *
 * Targets: 1 watcher keeps up with the saturated durable write rate; p99 ≤ 5 ms embedded,
 * ≤ 20 ms over HTTP.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect } from '../ts/client/index.js';
import { open, type Store, type WatchEvent } from '../ts/index.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const arg = (name: string, d: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : d;
};
const SECONDS = Number(arg('seconds', '3'));
const ENGINE = arg('engine', 'native') as 'native' | 'js';
const INFLIGHT = Number(arg('inflight', '64'));
const LAT_PUTS = Number(arg('latency-puts', '1000'));
const VALUE = 'v'.repeat(100);

interface Row { case: string; watchers: number; writesPerSec: number; eventsPerSec: number; perWatcherPerSec: number; lagAtEndMs: number; p50Ms?: number; p99Ms?: number; ackP50Ms?: number; ackP99Ms?: number; afterAckP50Ms?: number; afterAckP99Ms?: number }

const made: string[] = [];
/** A fresh trial directory, removed when the run ends. */
const tmp = (): string => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'kvbench-watch-'));
  made.push(d);
  return d;
};
const q = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return Math.round(s[Math.min(s.length - 1, Math.floor(s.length * p))]! * 100) / 100;
};
const now = (): number => Number(process.hrtime.bigint()) / 1e6;

/** INFLIGHT writers for SECONDS on db; returns the LSN of the last write and writes/s. */
async function saturate(db: Store): Promise<{ writes: number; perSec: number; last: bigint }> {
  const end = Date.now() + SECONDS * 1000;
  let writes = 0;
  let last = 0n;
  let n = 0;
  const t0 = now();
  await Promise.all(Array.from({ length: INFLIGHT }, async () => {
    while (Date.now() < end) {
      const { version } = await db.put(`w/${(n++ % 10_000).toString().padStart(5, '0')}`, VALUE);
      writes++;
      if (version > last) last = version;
    }
  }));
  return { writes, perSec: Math.round(writes / ((now() - t0) / 1000)), last };
}

/** Throughput with `watchers` consumers on one store: each counts events until it has seen `last`. */
async function throughput(watchers: number): Promise<Row> {
  const db = await open({ dir: tmp(), engine: ENGINE, durability: 'always', onLog: () => undefined });
  try {
    const ws = Array.from({ length: watchers }, () => db.watch({ prefix: 'w/' }));
    const counts = new Array<number>(watchers).fill(0);
    let stopAt = -1n;
    let writesDone = 0;
    const done = ws.map(async (w, i) => {
      for await (const e of w) {
        counts[i]!++;
        if (stopAt > 0n && e.version >= stopAt) break;
      }
      return now();
    });
    const t0 = now();
    const r = await saturate(db);
    writesDone = now();
    stopAt = r.last;
    // Every watcher has at least the events up to the last write: the time they took past the writers' end is the lag.
    await db.put('w/zz-end', 'end'); // wakes watchers whose last event was exactly `last`
    const ends = await Promise.all(done);
    const total = counts.reduce((a, b) => a + b, 0);
    const lastEnd = Math.max(...ends);
    return {
      case: `embedded ${ENGINE}`, watchers, writesPerSec: r.perSec,
      eventsPerSec: Math.round(total / ((lastEnd - t0) / 1000)), perWatcherPerSec: Math.round(total / watchers / ((lastEnd - t0) / 1000)),
      lagAtEndMs: Math.round((lastEnd - writesDone) * 10) / 10,
    };
  } finally {
    await db.close();
  }
}

/** The same saturation with no watcher: the write rate to keep up with. */
async function baseline(): Promise<Row> {
  const db = await open({ dir: tmp(), engine: ENGINE, durability: 'always', onLog: () => undefined });
  try {
    const r = await saturate(db);
    return { case: `embedded ${ENGINE}`, watchers: 0, writesPerSec: r.perSec, eventsPerSec: 0, perWatcherPerSec: 0, lagAtEndMs: 0 };
  } finally {
    await db.close();
  }
}

/**
 * Paced puts (one in flight), each put's call time → its event's arrival; and where that time
 * goes: call → the put's own acknowledgement (durable: fdatasync under 'always'), and
 * acknowledgement → event (what the feed adds; negative when the event came first).
 */
async function latency(put: (k: string) => Promise<unknown>, events: AsyncIterator<WatchEvent>, n: number): Promise<{ lat: number[]; ack: number[]; afterAck: number[] }> {
  const sent = new Map<string, number>();
  const acked = new Map<string, number>();
  const arrived = new Map<string, number>();
  const lat: number[] = [];
  const reader = (async () => {
    while (lat.length < n) {
      const r = await events.next();
      if (r.done) break;
      const k = r.value.key.toString();
      const t = sent.get(k);
      if (t !== undefined) {
        const at = now();
        lat.push(at - t);
        arrived.set(k, at);
      }
    }
  })();
  for (let i = 0; i < n; i++) {
    const k = `l/${i}`;
    sent.set(k, now());
    await put(k);
    acked.set(k, now());
    if (i % 4 === 3) await new Promise((r) => setTimeout(r, 1));
  }
  await Promise.race([reader, new Promise((r) => setTimeout(r, 10_000))]);
  const ack = [...acked].map(([k, t]) => t - sent.get(k)!);
  const afterAck = [...arrived].map(([k, t]) => t - acked.get(k)!).filter((x) => !Number.isNaN(x));
  return { lat, ack, afterAck };
}

const split = (r: { lat: number[]; ack: number[]; afterAck: number[] }): Pick<Row, 'p50Ms' | 'p99Ms' | 'ackP50Ms' | 'ackP99Ms' | 'afterAckP50Ms' | 'afterAckP99Ms'> => ({
  p50Ms: q(r.lat, 0.5), p99Ms: q(r.lat, 0.99), ackP50Ms: q(r.ack, 0.5), ackP99Ms: q(r.ack, 0.99), afterAckP50Ms: q(r.afterAck, 0.5), afterAckP99Ms: q(r.afterAck, 0.99),
});

async function embeddedLatency(): Promise<Row> {
  const db = await open({ dir: tmp(), engine: ENGINE, durability: 'always', onLog: () => undefined });
  try {
    const w = db.watch({ prefix: 'l/' });
    const r = await latency((k) => db.put(k, VALUE), w[Symbol.asyncIterator](), LAT_PUTS);
    w.close();
    return { case: `embedded ${ENGINE} latency`, watchers: 1, writesPerSec: 0, eventsPerSec: 0, perWatcherPerSec: 0, lagAtEndMs: 0, ...split(r) };
  } finally {
    await db.close();
  }
}

async function httpLatency(): Promise<Row> {
  const dir = tmp();
  const child = spawn(process.execPath, [path.join(root, 'dist', 'ts', 'server', 'main.js'), '--data-dir', dir, '--port', '0', '--no-auth', '--engine', ENGINE], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout!.setEncoding('utf8').on('data', (d: string) => {
        out += d;
        const line = out.split('\n').find((l) => l.includes('"listening"'));
        if (line) resolve((JSON.parse(line) as { url: string }).url);
      });
      child.on('exit', (code) => reject(new Error(`kvstored exited ${code}: ${out}`)));
    });
    const c = connect({ url });
    const { version } = await c.put('l/marker', 'm');
    const w = c.watch({ prefix: 'l/' }, { fromVersion: version + 1n });
    const it = w[Symbol.asyncIterator]();
    const r = await latency((k) => c.put(k, VALUE), it, LAT_PUTS);
    w.close();
    await c.close();
    return { case: `HTTP (SSE) ${ENGINE} latency`, watchers: 1, writesPerSec: 0, eventsPerSec: 0, perWatcherPerSec: 0, lagAtEndMs: 0, ...split(r) };
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('close', r));
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const rows: Row[] = [];
  for (const f of [baseline, () => throughput(1), () => throughput(1000), embeddedLatency, httpLatency]) {
    rows.push(await f());
    console.error(`  done: ${rows.at(-1)!.case} × ${rows.at(-1)!.watchers}`);
  }
  const cpu = os.cpus();
  console.log(`Parameters: seconds=${SECONDS}, engine=${ENGINE}, durability always, ${INFLIGHT} puts in flight (100 B values), ${LAT_PUTS} paced puts for latency.`);
  console.log(`Machine: ${cpu[0]?.model ?? '?'} × ${cpu.length} cores, load ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}, Node ${process.version}; ${new Date().toISOString()}\n`);
  console.log('| case | watchers | writes/s | events/s delivered (all watchers) | per watcher/s | lag after writers stop, ms | put→event p50 ms | p99 ms | put→ack p50 ms | p99 ms | ack→event p50 ms | p99 ms |');
  console.log('| --- | --: | --: | --: | --: | --: | --: | --: | --: | --: | --: | --: |');
  for (const r of rows) {
    console.log(`| ${r.case} | ${r.watchers} | ${r.writesPerSec ? r.writesPerSec.toLocaleString('en') : ''} | ${r.eventsPerSec ? r.eventsPerSec.toLocaleString('en') : ''} | ${r.perWatcherPerSec ? r.perWatcherPerSec.toLocaleString('en') : ''} | ${r.watchers > 0 && r.writesPerSec ? r.lagAtEndMs : ''} | ${r.p50Ms ?? ''} | ${r.p99Ms ?? ''} | ${r.ackP50Ms ?? ''} | ${r.ackP99Ms ?? ''} | ${r.afterAckP50Ms ?? ''} | ${r.afterAckP99Ms ?? ''} |`);
  }
  const one = rows[1]!;
  const emb = rows[3]!;
  const http = rows[4]!;
  const targets = [
    { text: '1 watcher keeps up with the saturated durable write rate (delivered/s ≥ 95% of writes/s with it, lag ≤ 100 ms)', met: one.perWatcherPerSec >= 0.95 * one.writesPerSec && one.lagAtEndMs <= 100 },
    { text: 'put → event p99 ≤ 5 ms embedded', met: (emb.p99Ms ?? Infinity) <= 5 },
    { text: 'put → event p99 ≤ 20 ms over HTTP', met: (http.p99Ms ?? Infinity) <= 20 },
  ];
  console.log('');
  for (const t of targets) console.log(`- ${t.met ? 'met' : 'NOT met'}: ${t.text}`);
  const outDir = path.join(root, 'bench', 'out');
  fs.mkdirSync(outDir, { recursive: true });
  fs.writeFileSync(path.join(outDir, 'watch.json'), JSON.stringify({ scenario: 'watch', params: { seconds: SECONDS, engine: ENGINE, inflight: INFLIGHT, latencyPuts: LAT_PUTS }, machine: { cpu: cpu[0]?.model, cores: cpu.length, load: os.loadavg(), node: process.version }, at: new Date().toISOString(), rows, targets }, null, 2) + '\n');
  console.log(`\nwrote ${path.relative(root, path.join(outDir, 'watch.json'))}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
}).finally(() => {
  for (const d of made) fs.rmSync(d, { recursive: true, force: true });
});
