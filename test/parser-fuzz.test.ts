/**
 * The pure-TS engine's readers against hostile bytes, as strictly as the native ones:
 *
 * - the native fuzzers' committed seed corpora and crash inputs (native/fuzz/corpus,
 *   native/fuzz/regressions) go through the TS parsers, and every recovery archive is opened
 *   by both engines, which must agree: both open to the same contents, or both refuse with
 *   CORRUPT;
 * - fast-check properties: arbitrary and mutated control files, WAL records, record bodies
 *   and snapshots never hang, never throw anything but a FormatError / CORRUPT that names the
 *   file and the byte offset, and never allocate more than the file's size.
 *
 * Bounded for npm test (a few seconds); FUZZ_RUNS=<n> multiplies the runs for a longer soak.
 */
import fs from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { open, type Store } from '../ts/index.js';
import {
  CONTROL_SIZE, FormatError, KIND_BATCH, KIND_DELETE, KIND_PUT, RECORD_HEADER, SNAP_HEADER, SNAP_TRAILER, decodeBody, decodeControl, encodeControl,
  encodeBatchBody, encodePutBody, readRecord, segmentName, snapshotName, writeRecord,
} from '../ts/engine/format.js';
import { crc32c } from '../ts/engine/js/crc32c.js';
import { ENGINES, repoRoot, tempDir } from './helpers.js';

/** fc.assert, with the failing property's own error in the message (uvu prints only the message). */
async function check(p: Parameters<typeof fc.assert>[0], params: Parameters<typeof fc.assert>[1]): Promise<void> {
  try {
    await fc.assert(p, params);
  } catch (err) {
    const cause = (err as { cause?: unknown }).cause;
    throw new Error(`${(err as Error).message}\ncause: ${cause instanceof Error ? cause.message : String(cause)}`);
  }
}

const SCALE = Math.max(1, Number(process.env.FUZZ_RUNS ?? 1));
const FUZZ = path.join(repoRoot, 'native', 'fuzz');
const filesIn = (d: string): string[] => (fs.existsSync(d) ? fs.readdirSync(d).map((n) => path.join(d, n)).filter((f) => fs.statSync(f).isFile()) : []);

// ------------------------------------------------------------------ the archive format (native/fuzz/archive.h)
const MAX_FILES = 16;
const ENTRY_HEADER = 1 + 8 + 4;

function pathFor(type: number, n: bigint): string {
  switch (type % 4) {
    case 0: return 'control';
    case 1: return `base/${snapshotName(n)}`;
    case 2: return `wal/${segmentName(n)}`;
    default: return `base/${snapshotName(n)}.tmp`;
  }
}

/** archive.h's Unpack: the files of a whole data directory from one byte string. */
function unpack(input: Buffer, dir: string): { truncateCorruptTail: boolean; shards: number } {
  fs.mkdirSync(path.join(dir, 'wal'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'base'), { recursive: true });
  if (input.length === 0) return { truncateCorruptTail: false, shards: 1 };
  const flags = input[0]!;
  let at = 1;
  for (let n = 0; n < MAX_FILES && at + ENTRY_HEADER <= input.length; n++) {
    const type = input[at]!;
    const num = input.readBigUInt64LE(at + 1);
    const len = Math.min(input.readUInt32LE(at + 9), input.length - at - ENTRY_HEADER);
    at += ENTRY_HEADER;
    fs.writeFileSync(path.join(dir, pathFor(type, num)), input.subarray(at, at + len));
    at += len;
  }
  return { truncateCorruptTail: (flags & 1) !== 0, shards: 1 << ((flags >> 1) & 3) };
}

type Verdict = { ok: true; state: string } | { ok: false; code: string; message: string };

async function dump(db: Store): Promise<string> {
  const out: string[] = [];
  for await (const [k, v] of db.scan()) out.push(`${k.toString('hex')}=${v.toString('hex')}`);
  return out.join(',');
}

/** Opens a copy of the archive's directory with `engine`; what came of it. */
async function recoverWith(archive: Buffer, engine: 'native' | 'js'): Promise<Verdict> {
  const dir = tempDir('fuzz');
  const o = unpack(archive, dir);
  let db: Store;
  try {
    db = await open({ dir, engine, shards: o.shards, truncateCorruptTail: o.truncateCorruptTail, durability: 'none', onLog: () => {} });
  } catch (err) {
    const e = err as { code?: string; message: string };
    fs.rmSync(dir, { recursive: true, force: true });
    return { ok: false, code: e.code ?? 'none', message: e.message };
  }
  try {
    return { ok: true, state: await dump(db) };
  } finally {
    await db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** A refusal must be CORRUPT and say which file and where. */
function assertCorruptWithPlace(v: Verdict, what: string): void {
  if (v.ok) return;
  assert.is(v.code, 'CORRUPT', `${what}: ${v.message}`);
  assert.match(v.message, /(control|snapshot|WAL corrupt in) \S+ at offset \d+|snapshot named by control is missing/, `${what}: the message names the file and offset: ${v.message}`);
}

const corpus = suite('native fuzz corpora through the TS parsers');

corpus('the corpora and crash inputs are there (a moved directory must not silently test nothing)', () => {
  for (const sub of ['control', 'wal', 'snapshot', 'recovery']) assert.ok(filesIn(path.join(FUZZ, 'corpus', sub)).length > 0, sub);
  assert.ok(filesIn(path.join(FUZZ, 'regressions', 'recovery')).length > 0);
});

corpus('control corpus: decodes, or FormatError; every single-byte flip is refused', () => {
  for (const f of [...filesIn(path.join(FUZZ, 'corpus', 'control')), ...filesIn(path.join(FUZZ, 'regressions', 'control'))]) {
    const buf = fs.readFileSync(f);
    const c = decodeControl(buf);
    assert.ok(c.redoLsn >= 1n, f);
    for (let i = 0; i < buf.length; i++) {
      const m = Buffer.from(buf);
      m[i] = m[i]! ^ 0x01;
      assert.throws(() => decodeControl(m), (e: unknown) => e instanceof FormatError, `${path.basename(f)} byte ${i}`);
    }
  }
});

corpus('WAL corpus: every record reads with a valid CRC and a decodable body; truncations stop cleanly', () => {
  for (const f of [...filesIn(path.join(FUZZ, 'corpus', 'wal')), ...filesIn(path.join(FUZZ, 'regressions', 'wal'))]) {
    const buf = fs.readFileSync(f);
    let at = 0;
    let n = 0;
    for (;;) {
      const r = readRecord(buf, at);
      if (!r.ok) {
        assert.ok(r.reason === 'end' || r.reason === 'zero', `${f} at ${at}: ${r.reason}`);
        break;
      }
      if (r.kind < 128) decodeBody(r.kind, r.body);
      assert.ok(r.next > at);
      at = r.next;
      n++;
    }
    assert.ok(n > 0, f);
    for (let cut = 0; cut < buf.length; cut += 7) {
      const r = readRecord(buf.subarray(0, cut), 0);
      if (r.ok) assert.ok(r.next <= cut);
    }
  }
});

corpus('recovery corpus and crash inputs: both engines agree (same contents, or both CORRUPT with file and offset)', async () => {
  const inputs = [...filesIn(path.join(FUZZ, 'corpus', 'recovery')), ...filesIn(path.join(FUZZ, 'regressions', 'recovery'))];
  for (const f of inputs) {
    const archive = fs.readFileSync(f);
    const js = await recoverWith(archive, 'js');
    assertCorruptWithPlace(js, path.basename(f));
    if (ENGINES.includes('native')) {
      const native = await recoverWith(archive, 'native');
      assert.is(js.ok, native.ok, `${path.basename(f)}: js ${JSON.stringify(js).slice(0, 200)} vs native ${JSON.stringify(native).slice(0, 200)}`);
      if (js.ok && native.ok) assert.is(js.state, native.state, path.basename(f));
      else if (!js.ok && !native.ok) assert.is(js.code, native.code);
    }
  }
});

corpus('recovery corpus, mutated (bytes flipped inside the files): both engines still agree', async () => {
  const inputs = filesIn(path.join(FUZZ, 'corpus', 'recovery'));
  await check(
    fc.asyncProperty(fc.constantFrom(...inputs), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 4 }), async (f, flips) => {
      const archive = Buffer.from(fs.readFileSync(f));
      // Leave the archive's framing (flag byte and first entry header) alone so the flips hit file bytes.
      for (const [at, x] of flips) archive[ENTRY_HEADER + 1 + (at % (archive.length - ENTRY_HEADER - 1))]! ^= x;
      const js = await recoverWith(archive, 'js');
      assertCorruptWithPlace(js, path.basename(f));
      if (ENGINES.includes('native')) {
        const native = await recoverWith(archive, 'native');
        assert.is(js.ok, native.ok, `${path.basename(f)} ${JSON.stringify(flips)}: js ${JSON.stringify(js).slice(0, 300)} vs native ${JSON.stringify(native).slice(0, 300)}`);
        if (js.ok && native.ok) assert.is(js.state, native.state);
      }
    }),
    { numRuns: 25 * SCALE },
  );
});

corpus.run();

// ------------------------------------------------------------------ properties of the pure parsers
const props = suite('fast-check: the TS readers');

/** Runs fn and fails on any exception but a FormatError (a RangeError from a Buffer read is a parser bug). */
function onlyFormatErrors(fn: () => unknown): void {
  try {
    fn();
  } catch (err) {
    if (!(err instanceof FormatError)) throw err;
  }
}

props('decodeControl: arbitrary bytes → a control or a FormatError, nothing else', async () => {
  await check(fc.property(fc.uint8Array({ maxLength: 64 }), (b) => onlyFormatErrors(() => decodeControl(Buffer.from(b)))), { numRuns: 2000 * SCALE });
  // Right size, right CRC, random fields: only the version can refuse it.
  await check(
    fc.property(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), fc.nat(), (redo, t) => {
      const c = decodeControl(encodeControl({ catalogVersion: 0, redoLsn: redo, checkpointTimeMs: t }));
      assert.is(c.redoLsn, redo);
      assert.is(CONTROL_SIZE, 36);
    }),
    { numRuns: 500 * SCALE },
  );
});

props('readRecord over arbitrary bytes: never throws, always advances, never reads past the buffer', async () => {
  await check(
    fc.property(fc.uint8Array({ maxLength: 512 }), (b) => {
      const buf = Buffer.from(b);
      let at = 0;
      for (let steps = 0; steps <= buf.length; steps++) {
        const r = readRecord(buf, at);
        if (!r.ok) return;
        assert.ok(r.next > at && r.next <= buf.length);
        assert.ok(r.body.length <= buf.length);
        at = r.next;
      }
      assert.unreachable('readRecord did not terminate');
    }),
    { numRuns: 2000 * SCALE },
  );
});

props('a record whose header claims a huge body is refused without allocating it', async () => {
  await check(
    fc.property(fc.integer({ min: 1024, max: 0xffffffff }), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), (len, lsn) => {
      const buf = Buffer.alloc(RECORD_HEADER + 16);
      buf.writeUInt32LE(len, 4);
      buf.writeBigUInt64LE(lsn, 8);
      buf[16] = KIND_PUT;
      buf.writeUInt32LE(crc32c(buf, 0, 4, buf.length), 0);
      const before = process.memoryUsage().arrayBuffers;
      const r = readRecord(buf, 0);
      assert.not.ok(r.ok);
      assert.ok(process.memoryUsage().arrayBuffers - before < 1 << 20);
    }),
    { numRuns: 300 * SCALE },
  );
});

const change = fc.oneof(
  fc.record({ type: fc.constant<'put'>('put'), key: fc.uint8Array({ minLength: 1, maxLength: 16 }), value: fc.uint8Array({ maxLength: 32 }) }),
  fc.record({ type: fc.constant<'del'>('del'), key: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
);

props('decodeBody: arbitrary kinds and bodies → changes or a FormatError; valid bodies round-trip; mutated ones never throw anything else', async () => {
  await check(fc.property(fc.integer({ min: 0, max: 255 }), fc.uint8Array({ maxLength: 256 }), (kind, b) => onlyFormatErrors(() => decodeBody(kind, Buffer.from(b)))), { numRuns: 3000 * SCALE });
  await check(
    fc.property(fc.array(change, { minLength: 1, maxLength: 8 }), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { maxLength: 3 }), fc.nat(), (ops, flips, cut) => {
      const body = encodeBatchBody(ops.map((o) => (o.type === 'put' ? { type: 'put', key: Buffer.from(o.key), value: Buffer.from(o.value), expiresAt: 0 } : { type: 'del', key: Buffer.from(o.key) })));
      const decoded = decodeBody(KIND_BATCH, body);
      assert.is(decoded.length, ops.length);
      const m = Buffer.from(body);
      for (const [at, x] of flips) m[at % m.length]! ^= x;
      onlyFormatErrors(() => decodeBody(KIND_BATCH, m));
      onlyFormatErrors(() => decodeBody(KIND_BATCH, m.subarray(0, cut % (m.length + 1))));
      onlyFormatErrors(() => decodeBody(KIND_DELETE, m));
    }),
    { numRuns: 1500 * SCALE },
  );
});

props.run();

// ------------------------------------------------------------------ recovery through open() on crafted files
const rec = suite('fast-check: recovery of crafted files (js engine)');

/** A small valid data directory: a checkpoint (control + snapshot) and a WAL after it, made by the JS engine itself. */
async function baseDir(): Promise<{ dir: string; files: string[] }> {
  const dir = tempDir('fuzzbase');
  const db = await open({ dir, engine: 'js' });
  for (let i = 0; i < 20; i++) await db.put(`k${i}`, `v${i}`.repeat(i % 5 + 1));
  await db.checkpoint();
  for (let i = 0; i < 10; i++) await db.put(`k${i}`, `w${i}`);
  await db.delete('k3');
  await db.close();
  const files = ['control', ...fs.readdirSync(path.join(dir, 'base')).map((n) => `base/${n}`), ...fs.readdirSync(path.join(dir, 'wal')).map((n) => `wal/${n}`)];
  return { dir, files };
}

rec('flipped bytes, truncations and zeroed runs in control, snapshot or WAL: opens, or CORRUPT naming the file and offset; never a hang or another error', async () => {
  const base = await baseDir();
  const originals = new Map(base.files.map((f) => [f, fs.readFileSync(path.join(base.dir, f))]));
  assert.ok(base.files.some((f) => f.startsWith('base/')) && base.files.some((f) => f.startsWith('wal/')), base.files.join(' '));
  await check(
    fc.asyncProperty(
      fc.constantFrom(...base.files),
      fc.oneof(
        fc.record({ op: fc.constant('flip' as const), at: fc.nat(), x: fc.integer({ min: 1, max: 255 }) }),
        fc.record({ op: fc.constant('cut' as const), at: fc.nat() }),
        fc.record({ op: fc.constant('zero' as const), at: fc.nat(), n: fc.integer({ min: 1, max: 64 }) }),
      ),
      fc.boolean(),
      async (file, m, fixCrc) => {
        const dir = tempDir('fuzzcase');
        for (const [f, b] of originals) fs.writeFileSync(path.join(dir, f.replace(/^(base|wal)\//, (_s, d: string) => (fs.mkdirSync(path.join(dir, d), { recursive: true }), `${d}/`))), b);
        const b = Buffer.from(originals.get(file)!);
        let out = b;
        if (m.op === 'flip') b[m.at % b.length]! ^= m.x;
        else if (m.op === 'cut') out = b.subarray(0, m.at % b.length);
        else b.fill(0, m.at % b.length, Math.min(b.length, (m.at % b.length) + m.n));
        // With the CRC fixed, the mutation reaches the field parsers behind the checksum.
        if (fixCrc && file.startsWith('base/') && out.length >= SNAP_HEADER + SNAP_TRAILER) out.writeUInt32LE(crc32c(out, 0, 0, out.length - SNAP_TRAILER), out.length - SNAP_TRAILER);
        if (fixCrc && file === 'control' && out.length === CONTROL_SIZE) out.writeUInt32LE(crc32c(out, 0, 0, 32), 32);
        fs.writeFileSync(path.join(dir, file), out);
        const t0 = Date.now();
        let v: Verdict;
        try {
          const db = await open({ dir, engine: 'js', durability: 'none', onLog: () => {} });
          v = { ok: true, state: await dump(db) };
          await db.close();
        } catch (err) {
          const e = err as { code?: string; message: string };
          v = { ok: false, code: e.code ?? String(err), message: e.message };
        }
        assert.ok(Date.now() - t0 < 10_000, 'recovery took too long');
        assertCorruptWithPlace(v, `${file} ${JSON.stringify(m)}`);
        fs.rmSync(dir, { recursive: true, force: true });
      },
    ),
    { numRuns: 60 * SCALE },
  );
});

rec.run();
