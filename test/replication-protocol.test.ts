/**
 * A standby facing a broken stream (issue 14: "corrupt, truncated or out-of-order stream
 * frames are refused with a clear error and the standby keeps its data"). A fake primary on
 * loopback serves crafted frames (frames.ts encoders) around real WAL records (read from a
 * real store's WAL); the standby is an embedded replica in this process, and once a kvstored
 * standby. Each broken session must end with its error code in replication().lastError (or
 * GET /v1/admin/replication's receiver.lastError), the standby's entries and applied LSN as
 * they were, and the standby must then go on from the same LSN when the stream is sound.
 */
import http from 'node:http';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readRecord } from '../ts/engine/format.js';
import { FrameKind, encodeFrame, encodeJsonFrame, encodeU64Pair } from '../ts/replication/frames.js';
import { historyToJson, initialHistory } from '../ts/replication/timeline.js';
import type { Hello } from '../ts/replication/wal-sender.js';
import { open, type Store } from '../ts/store/store.js';
import { type EngineName, ENGINES, tempDir } from './helpers.js';
import { assertSameDump, dumpStore, killAll, startNode } from './repl-cluster.js';

const test = suite('replication: protocol robustness');
test.after.each(killAll);
// Each reconnect must leave no listener behind on the receiver's abort signal.
const warnings: string[] = [];
process.on('warning', (w) => void (w.name === 'MaxListenersExceededWarning' && warnings.push(w.message)));

/** What one stream connection gets: chunks to write, then end (or stay open). */
interface Script {
  chunks: Buffer[];
  end: boolean;
}

/** A fake primary: each connection takes the next queued script; the last one repeats. */
class FakePrimary {
  readonly server: http.Server;
  url = '';
  #queue: Script[] = [];
  #open = new Set<http.ServerResponse>();
  froms: bigint[] = [];

  constructor() {
    this.server = http.createServer((req, res) => {
      const u = new URL(req.url!, 'http://x');
      if (u.pathname === '/v1/replication/feedback') {
        req.resume();
        res.writeHead(204).end();
        return;
      }
      if (u.pathname !== '/v1/replication/stream') {
        res.writeHead(404).end();
        return;
      }
      this.froms.push(BigInt(u.searchParams.get('from')!));
      const s = this.#queue.length > 1 ? this.#queue.shift()! : this.#queue[0]!;
      res.writeHead(200, { 'content-type': 'application/x-kvstore-replication' });
      for (const c of s.chunks) res.write(c);
      if (s.end) res.end();
      else {
        this.#open.add(res);
        res.on('close', () => this.#open.delete(res));
      }
    });
  }

  async listen(): Promise<this> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as { port: number }).port}`;
    return this;
  }

  /** From the next connection on, serve these scripts; open streams are ended. */
  serve(...scripts: Script[]): void {
    this.#queue = scripts;
    for (const r of this.#open) r.end();
  }

  async close(): Promise<void> {
    for (const r of this.#open) r.destroy();
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }
}

/** A real store's WAL, one Buffer per record (index i holds LSN i + 1), and the store's dump. */
async function realRecords(engine: EngineName): Promise<{ records: Buffer[]; source: Store }> {
  const source = await open({ dir: tempDir('repl-src'), engine, onLog: () => undefined });
  for (let i = 0; i < 6; i++) await source.put(`k${i}`, `v${i}`);
  await source.put('ttl', 'long', { ttlMs: 3_600_000 });
  await source.batch([{ type: 'put', key: 'b1', value: 'x' }, { type: 'del', key: 'k0' }]);
  await source.incr('n', 5n);
  await source.put('k1', 'v1b', { ifVersion: 2n });
  const wal = await source._replication().readWal(1n, 1 << 20);
  const records: Buffer[] = [];
  for (let at = 0; at < wal.length;) {
    const r = readRecord(wal, at);
    if (!r.ok) throw new Error(`bad record at ${at}`);
    records.push(Buffer.from(wal.subarray(at, r.next)));
    at = r.next;
  }
  return { records, source };
}

const history = initialHistory(Date.now());

function hello(durable: number): Buffer {
  const h: Hello = { systemId: history.systemId, history: historyToJson(history), durableLsn: String(durable), oldestLsn: '1', engine: 'js' };
  return encodeJsonFrame(FrameKind.HELLO, h);
}

const wal = (...recs: Buffer[]): Buffer => encodeFrame(FrameKind.WAL, Buffer.concat(recs));
const flip = (b: Buffer, at: number): Buffer => {
  const c = Buffer.from(b);
  c[at]! ^= 0x40;
  return c;
};

async function until(pred: () => boolean, what: string, ms = 15_000): Promise<void> {
  const t0 = Date.now();
  while (!pred()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

for (const engine of ENGINES) {
  test(`${engine}: corrupt, truncated, gapped, duplicated and out-of-order frames and records are refused with their code; the replica keeps its data and resumes`, async () => {
    const { records: R, source } = await realRecords(engine);
    const n = R.length;
    assert.ok(n >= 10, `${n} records`);
    const fake = await new FakePrimary().listen();
    const good = (from: number, to: number): Script => ({ chunks: [hello(n), wal(...R.slice(from - 1, to))], end: false });
    fake.serve(good(1, 5));
    const replica = await open({ dir: tempDir('repl-r'), engine, replicaOf: fake.url, standbyId: 'r', onLog: () => undefined });
    try {
      await until(() => replica.replication().appliedLsn === 5n, 'LSN 5 applied');
      // HELLO said the primary is at LSN n: behind, and for as long as it has been following.
      const info = replica.replication();
      assert.is(info.primaryLsn, BigInt(n));
      assert.ok(info.lagMs >= 0 && info.lagMs < 60_000, `lagMs ${info.lagMs} while behind`);
      assert.is(info.connected, true);
      const before = dumpStore(replica);
      assert.ok(before.size >= 4);
      const w6 = wal(R[5]!);
      const cases: Array<[string, Buffer[], string]> = [
        ['a flipped byte in a frame (frame CRC)', [hello(n), flip(w6, w6.length - 3)], 'REPLICATION_PROTOCOL'],
        ['a flipped byte in a record, frame CRC valid (record CRC)', [hello(n), wal(flip(R[5]!, R[5]!.length - 2))], 'WAL_BAD_RECORD'],
        ['the stream ends inside a frame', [hello(n), w6.subarray(0, w6.length - 4)], 'REPLICATION_PROTOCOL'],
        ['a frame ends inside a record', [hello(n), wal(R[5]!.subarray(0, R[5]!.length - 3))], 'WAL_BAD_RECORD'],
        ['a record split across two frames', [hello(n), wal(R[5]!, R[6]!.subarray(0, 10)), wal(R[6]!.subarray(10))], 'WAL_BAD_RECORD'],
        ['a gap (LSN 7 where 6 is next)', [hello(n), wal(R[6]!, R[7]!)], 'WAL_LSN_MISMATCH'],
        ['a duplicate (LSN 5 again)', [hello(n), wal(R[4]!, R[5]!)], 'WAL_LSN_MISMATCH'],
        ['out of order inside a frame (6, 8, 7): nothing of it applied', [hello(n), wal(R[5]!, R[7]!, R[6]!)], 'WAL_LSN_MISMATCH'],
        ['a WAL frame before HELLO', [w6], 'REPLICATION_PROTOCOL'],
        ['HELLO that is not JSON', [encodeFrame(FrameKind.HELLO, Buffer.from('{nope')), w6], 'REPLICATION_PROTOCOL'],
        ['an unknown required frame kind', [hello(n), encodeFrame(50 as never, Buffer.from('x'))], 'REPLICATION_PROTOCOL'],
        ['reserved header bytes set', [hello(n), (() => {
          const f = Buffer.from(w6);
          f[10] = 1;
          return f;
        })()], 'REPLICATION_PROTOCOL'],
        ['a KEEPALIVE of the wrong size', [hello(n), encodeFrame(FrameKind.KEEPALIVE, Buffer.alloc(3))], 'REPLICATION_PROTOCOL'],
        ['bytes that are not frames at all', [Buffer.from('HTTP/1.1 200 OK\r\n\r\nhello')], 'REPLICATION_PROTOCOL'],
      ];
      for (const [what, chunks, code] of cases) {
        fake.serve({ chunks, end: true });
        await until(() => replica.replication().lastError?.code === code, `${what}: lastError ${code} (now ${JSON.stringify(replica.replication().lastError)})`);
        assert.is(replica.replication().appliedLsn, 5n, what);
        assertSameDump(before, dumpStore(replica), what);
        // A sound session that ends at once: resets the backoff for the next case.
        fake.serve({ chunks: [hello(n), encodeU64Pair(FrameKind.KEEPALIVE, BigInt(n), BigInt(Date.now()))], end: true });
        await until(() => replica.replication().lastError === null, `${what}: the next sound session`);
      }
      // Sound again: it resumes at LSN 6 (asked for by every session since) and ends equal to the source.
      fake.serve(good(6, n));
      await until(() => replica.replication().appliedLsn === BigInt(n), `LSN ${n} applied`);
      assert.ok(fake.froms.every((f, i) => i === 0 ? f === 1n : f === 6n), `every later session asked from LSN 6: ${fake.froms.join(',')}`);
      assertSameDump(dumpStore(source), dumpStore(replica), 'source vs replica');
      assert.equal(warnings, [], 'no listener piles up across reconnects');
    } finally {
      await replica.close();
      await source.close();
      await fake.close();
    }
  });
}

test(`${ENGINES[0]}: a kvstored standby shows a refused stream in GET /v1/admin/replication and keeps its data`, async () => {
  const engine = ENGINES[0]!;
  const { records: R, source } = await realRecords(engine);
  await source.close();
  const n = R.length;
  const fake = await new FakePrimary().listen();
  fake.serve({ chunks: [hello(n), wal(...R.slice(0, 5))], end: false });
  const standby = await startNode(tempDir('repl-s'), { engine, replicaOf: fake.url, standbyId: 's', args: ['--no-auth'] });
  try {
    await standby.waitStatus('', (s) => s.appliedLsn === '5', 'LSN 5 applied');
    assert.is((await standby.api('GET', '/v1/kv/k4')).text, 'v4');
    fake.serve({ chunks: [hello(n), flip(wal(R[5]!), 20)], end: true });
    const s = await standby.waitStatus('', (st) => st.receiver?.lastError?.code === 'REPLICATION_PROTOCOL', 'lastError REPLICATION_PROTOCOL');
    assert.is(s.appliedLsn, '5');
    assert.ok(s.receiver!.streamErrors >= 1);
    assert.is((await standby.api('GET', '/v1/kv/k5')).status, 404);
    assert.is((await standby.api('GET', '/v1/kv/k4')).text, 'v4');
  } finally {
    await standby.kill9();
    await fake.close();
  }
});

test.run();
