/** Shared by the backup tests: a full dump of a store (keys, values, versions, expiries), a writer under load, a manifest's every field checked. */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as assert from 'uvu/assert';
import { FORMAT_VERSION, segmentName, snapshotName } from '../ts/engine/format.js';
import { MANIFEST_VERSION, type Manifest } from '../ts/backup/manifest.js';
import type { Store } from '../ts/store/store.js';

export type Dump = Map<string, string>;

/** Every live data key with its value, version and expiry. */
export function dump(store: Store): Dump {
  const out: Dump = new Map();
  for (const [k] of store.scan()) {
    const e = store.getEntry(k);
    if (e) out.set(k.toString('hex'), `${e.value.toString('hex')}|v${e.version}|x${e.expiresAt ?? 0}`);
  }
  return out;
}

export function assertSameDump(got: Dump, want: Dump, what: string): void {
  if (got.size !== want.size) assert.unreachable(`${what}: ${got.size} keys, expected ${want.size}`);
  for (const [k, v] of want) {
    if (got.get(k) !== v) assert.unreachable(`${what}: key ${Buffer.from(k, 'hex').toString()} is ${got.get(k)}, expected ${v}`);
  }
}

/**
 * Writes until stopped: puts (some with a TTL an hour out), deletes, incrs and batches over
 * 200 keys, up to 32 in flight. pause() resolves once every write in flight is acked.
 */
export class Writer {
  #stop = false;
  #paused: Promise<void> | null = null;
  #resume: (() => void) | null = null;
  #inflight = new Set<Promise<unknown>>();
  #loop: Promise<void>;
  acked = 0;
  #n = 0;

  constructor(private readonly store: Store, private readonly tag: string) {
    this.#loop = this.#run();
  }

  async #run(): Promise<void> {
    for (let round = 0; round < 1_000_000 && !this.#stop; round++) {
      if (this.#paused) await this.#paused;
      if (this.#stop) break;
      while (this.#inflight.size >= 32) await Promise.race(this.#inflight);
      if (this.#paused || this.#stop) continue; // paused while waiting: submit nothing more
      const i = this.#n++;
      const k = `${this.tag}-${i % 200}`;
      let p: Promise<unknown>;
      switch (i % 7) {
        case 0:
          p = this.store.delete(k);
          break;
        case 1:
          p = this.store.incr(`${this.tag}-ctr-${i % 5}`, 3n);
          break;
        case 2:
          p = this.store.batch([{ type: 'put', key: k, value: `b${i}` }, { type: 'del', key: `${this.tag}-${(i + 1) % 200}` }]);
          break;
        case 3:
          p = this.store.put(k, `t${i}`, { ttlMs: 3_600_000 });
          break;
        default:
          p = this.store.put(k, `v${i}-`.padEnd(40 + (i % 60), 'x'));
      }
      const q = p.then(() => void this.acked++).finally(() => this.#inflight.delete(q));
      this.#inflight.add(q);
      if (i % 64 === 0) await new Promise((r) => setImmediate(r));
    }
  }

  async pause(): Promise<void> {
    this.#paused = new Promise((r) => (this.#resume = r));
    await new Promise((r) => setImmediate(r));
    await Promise.all([...this.#inflight]);
  }

  resume(): void {
    const r = this.#resume;
    this.#paused = null;
    this.#resume = null;
    r?.();
  }

  async stop(): Promise<void> {
    this.#stop = true;
    this.resume();
    await this.#loop;
    await Promise.all([...this.#inflight]);
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** What a test knows about a backup it took, for assertManifest. */
export interface ManifestExpect {
  /** The backup's directory in a directory repository (<repo>/backups/<id>). */
  dir: string;
  /** The test's clock around the backup: createdAt and finishedAt fall between. */
  notBefore: number;
  notAfter: number;
  /** The source: its data directory, engine, and replication identity (null for none). */
  dataDir: string;
  engine: string;
  systemId: string | null;
  timeline: string | null;
  /** The backup holds the WAL through at least this LSN. */
  minEndLsn: bigint;
}

/**
 * Checks every field of a backup's manifest.json against the files beside it: format and
 * version, id, times (ISO, in order, in the test's window), LSN range and the WAL files'
 * chain across it, timeline and system id, source, sizes, and the SHA-256 of every file
 * recomputed here. Returns the parsed manifest.
 */
export function assertManifest(want: ManifestExpect): Manifest {
  const m = JSON.parse(fs.readFileSync(path.join(want.dir, 'manifest.json'), 'utf8')) as Manifest;
  assert.is(m.format, 'kvstore-backup');
  assert.is(m.formatVersion, MANIFEST_VERSION);
  assert.is(m.formatVersion, 1, 'docs/backup.md documents version 1');
  assert.is(m.id, path.basename(want.dir));
  for (const t of [m.createdAt, m.finishedAt]) {
    assert.is(new Date(t).toISOString(), t, `${t} is an ISO 8601 UTC time`);
    assert.ok(Date.parse(t) >= want.notBefore - 1 && Date.parse(t) <= want.notAfter + 1, `${t} is within the test's window`);
  }
  assert.ok(Date.parse(m.createdAt) <= Date.parse(m.finishedAt), 'created before finished');
  assert.ok(m.endTimeMs >= Date.parse(m.createdAt) && m.endTimeMs <= Date.parse(m.finishedAt), 'endTimeMs read during the backup');
  assert.ok(/^\d+$/.test(m.startLsn) && /^\d+$/.test(m.endLsn), 'LSNs are decimal strings');
  const start = BigInt(m.startLsn);
  const end = BigInt(m.endLsn);
  assert.ok(start >= 1n && end >= start - 1n && end >= want.minEndLsn, `LSN range ${start}..${end} reaches ${want.minEndLsn}`);
  assert.ok(m.checkpointTimeMs > 0 && m.checkpointTimeMs <= Date.parse(m.finishedAt), 'checkpoint time');
  assert.ok(Number.isInteger(m.catalogVersion) && m.catalogVersion >= 0);
  assert.is(m.systemId, want.systemId);
  assert.is(m.timeline, want.timeline);
  assert.equal(m.source, { host: os.hostname(), dataDir: want.dataDir, engine: want.engine });
  assert.is(m.dataFormatVersion, FORMAT_VERSION);
  // Files: one snapshot at the redo LSN; WAL files chained from startLsn through endLsn.
  const snaps = m.files.filter((f) => f.kind === 'snapshot');
  assert.equal(snaps.map((f) => f.path), [snapshotName(start)]);
  let next = start;
  for (const f of m.files.filter((x) => x.kind === 'wal')) {
    assert.is(f.path, `wal/${segmentName(next)}`);
    assert.is(f.firstLsn, next.toString());
    assert.ok(BigInt(f.lastLsn!) >= next, `${f.path}: ${f.firstLsn}..${f.lastLsn}`);
    next = BigInt(f.lastLsn!) + 1n;
  }
  assert.is(next - 1n, end < start ? start - 1n : end, 'the WAL files end at endLsn');
  let total = 0;
  for (const f of m.files) {
    const body = fs.readFileSync(path.join(want.dir, f.path));
    assert.is(f.bytes, body.length, `${f.path}: size`);
    assert.is(f.sha256, createHash('sha256').update(body).digest('hex'), `${f.path}: SHA-256`);
    total += body.length;
  }
  assert.is(m.totalBytes, total);
  const onDisk = fs.readdirSync(want.dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => path.relative(want.dir, path.join(e.parentPath, e.name))).sort();
  assert.equal(onDisk, [...m.files.map((f) => f.path), 'manifest.json'].sort(), 'the manifest lists every file of the backup');
  return m;
}
