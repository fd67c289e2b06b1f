/**
 * Damaged data directories, leveldb log_test style: a real store writes known records in a
 * child process that is then SIGKILLed (so nothing is checkpointed at close and the WAL is
 * what recovery reads), a fixture helper damages one thing, and the directory is opened
 * through the public API. See docs/on-disk-format.md, "Recovery".
 */
import fs from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { open, type OpenOptions, type Store } from '../ts/index.js';
import {
  HEADER, appendZeroes, copyDir, findRecord, fixControlCrc, fixRecordCrc, fixSnapshotCrc, fixtureKey, fixtureValue, flip,
  lastSegment, records, segments, setByte, shrinkFile, snapshotFile, writeU32, writeU64,
} from './fixtures.js';
import { ENGINES, type EngineName, tempDir } from './helpers.js';
import { startChild } from './proc.js';

interface Fixture {
  dir: string;
  start: number;
  count: number;
  big: number;
}

/** A directory holding fixtureKey(start..start+count-1), written by a child that was then killed. */
async function writeFixture(engine: EngineName, f: Omit<Fixture, 'dir'> & { checkpointAt: number }, dir = tempDir('fixture')): Promise<Fixture> {
  const child = startChild('writer', [dir, engine, String(f.start), String(f.count), String(f.big), String(f.checkpointAt)]);
  await child.waitFor((l) => l === 'done');
  await child.kill();
  return { dir, start: f.start, count: f.count, big: f.big };
}

const valueOf = (f: Fixture, i: number): string => fixtureValue(i, i - f.start < f.big);

/** Keys whose value is not the fixture's (missing, or wrong), among indexes [from, to). */
function wrongKeys(db: Store, f: Fixture, from: number, to: number): string[] {
  const out: string[] = [];
  for (let i = from; i < to; i++) if (db.get(fixtureKey(i))?.toString() !== valueOf(f, i)) out.push(fixtureKey(i));
  return out;
}

type Log = Array<[string, string]>;
async function openDir(dir: string, engine: EngineName, extra: Partial<OpenOptions> = {}, log: Log = []): Promise<Store> {
  return open({ dir, engine, durability: 'always', onLog: (level, m) => log.push([level, m]), ...extra });
}

/** The error open() fails with; fails the test if it opens. */
async function openError(dir: string, engine: EngineName, extra: Partial<OpenOptions> = {}): Promise<{ code?: string; message: string }> {
  try {
    const db = await openDir(dir, engine, extra);
    await db.close();
  } catch (err) {
    return err as { code?: string; message: string };
  }
  throw new Error(`open(${dir}) succeeded; expected it to fail`);
}

const copy = (f: Fixture): Fixture => ({ ...f, dir: copyDir(f.dir, tempDir('case')) });

for (const engine of ENGINES) {
  /** 40 small records in one segment. */
  let small: Fixture;
  /** 150 records, the first 140 of ~1 KiB: three 64 KiB segments. */
  let multi: Fixture;
  /** 30 records: 0..19 in a snapshot, 20..29 only in the WAL. */
  let checkpointed: Fixture;

  const torn = suite(`torn WAL tail [${engine}]`);
  torn.before(async () => {
    [small, multi, checkpointed] = await Promise.all([
      writeFixture(engine, { start: 0, count: 40, big: 0, checkpointAt: -1 }),
      writeFixture(engine, { start: 0, count: 150, big: 140, checkpointAt: -1 }),
      writeFixture(engine, { start: 0, count: 30, big: 0, checkpointAt: 20 }),
    ]);
  });

  torn('the fixtures hold what the child wrote', async () => {
    assert.ok(segments(multi.dir).length >= 3, 'multi spans three segments');
    for (const f of [small, multi, checkpointed]) {
      const db = await openDir(copy(f).dir, engine);
      assert.equal(wrongKeys(db, f, 0, f.count), []);
      await db.close();
    }
  });

  torn('a last record cut at every byte offset loses only that record, and new writes survive a reopen', async () => {
    const last = records(lastSegment(small.dir)).pop()!;
    for (let size = last.offset + 1; size < last.end; size++) {
      const f = copy(small);
      shrinkFile(lastSegment(f.dir), size);
      let db = await openDir(f.dir, engine);
      assert.equal([db.get(fixtureKey(39)), wrongKeys(db, f, 0, 39)], [undefined, []], `cut at ${size}`);
      assert.is((await db.put('after', String(size))).version, 40n, `the lost record's LSN is reused (cut at ${size})`);
      await db.close();
      db = await openDir(f.dir, engine);
      assert.equal([db.get('after')?.toString(), db.count()], [String(size), 40], `reopened after cut at ${size}`);
      await db.close();
    }
  });

  torn('a last record failing its CRC is a torn tail: only that record is lost', async () => {
    const f = copy(small);
    const last = records(lastSegment(f.dir)).pop()!;
    setByte(lastSegment(f.dir), last.end - 1, flip);
    const db = await openDir(f.dir, engine);
    assert.equal([db.get(fixtureKey(39)), wrongKeys(db, f, 0, 39)], [undefined, []]);
    await db.close();
  });

  torn('a torn tail is truncated with a warning', async () => {
    const f = copy(small);
    const log: Log = [];
    shrinkFile(lastSegment(f.dir), records(lastSegment(f.dir)).pop()!.end - 1);
    await (await openDir(f.dir, engine, {}, log)).close();
    assert.ok(log.some(([level]) => level === 'warn'), JSON.stringify(log));
  });

  torn('zeroes after the last record (preallocated space) are ignored', async () => {
    const f = copy(small);
    appendZeroes(lastSegment(f.dir), 64 * 1024);
    const db = await openDir(f.dir, engine);
    assert.equal([wrongKeys(db, f, 0, 40), (await db.put('after', 'x')).version], [[], 41n]);
    await db.close();
  });

  torn('a zero-filled segment after the last one is ignored', async () => {
    const f = copy(small);
    fs.writeFileSync(path.join(f.dir, 'wal', '0000000000000029.wal'), Buffer.alloc(64 * 1024));
    const db = await openDir(f.dir, engine);
    assert.equal([wrongKeys(db, f, 0, 40), (await db.put('after', 'x')).version], [[], 41n]);
    await db.close();
  });

  torn.run();

  const wal = suite(`corrupt WAL record [${engine}]`);

  wal('a flipped byte in an earlier record is CORRUPT, naming the segment and byte offset', async () => {
    const f = copy(small);
    const { file, record } = findRecord(f.dir, 4n);
    setByte(file, record.end - 1, flip);
    const err = await openError(f.dir, engine);
    assert.is(err.code, 'CORRUPT');
    assert.ok(err.message.includes(path.basename(file)) && new RegExp(`\\b${record.offset}\\b`).test(err.message), err.message);
  });

  wal('a corrupt length field in an earlier record is CORRUPT, not a torn tail', async () => {
    const f = copy(small);
    const { file, record } = findRecord(f.dir, 10n);
    writeU32(file, record.offset + 4, record.length + 7);
    assert.is((await openError(f.dir, engine)).code, 'CORRUPT');
  });

  wal('a bad last record of a segment that is not the last is CORRUPT', async () => {
    const f = copy(multi);
    const first = segments(f.dir)[0]!;
    setByte(first, records(first).pop()!.end - 1, flip);
    assert.is((await openError(f.dir, engine)).code, 'CORRUPT');
  });

  wal('a segment whose name is not its first record\'s LSN is CORRUPT; repairing keeps what precedes it, and new writes survive a reopen (fuzz_recovery found this)', async () => {
    const f = copy(multi);
    const all = segments(f.dir);
    const last = all[all.length - 1]!;
    const first = records(last)[0]!;
    const renamed = path.join(path.dirname(last), (first.lsn + 1000n).toString(16).padStart(16, '0') + '.wal');
    fs.renameSync(last, renamed);
    const err = await openError(f.dir, engine);
    assert.is(err.code, 'CORRUPT');
    assert.match(err.message, new RegExp(`begins with LSN ${first.lsn}\\b`));
    const kept = Number(first.lsn) - 1;
    let db = await openDir(f.dir, engine, { truncateCorruptTail: true });
    assert.equal([wrongKeys(db, f, 0, kept), db.count()], [[], kept]);
    assert.is((await db.put('after', 'x')).version, first.lsn, 'the next LSN follows the last record kept');
    await db.close();
    db = await openDir(f.dir, engine);
    assert.equal([db.get('after')?.toString(), db.count()], ['x', kept + 1]);
    await db.close();
  });

  wal('a body that does not decode, under a valid CRC, is CORRUPT', async () => {
    const f = copy(small);
    const { file, record } = findRecord(f.dir, 7n);
    writeU32(file, record.offset + HEADER, 0); // PUT klen = 0
    fixRecordCrc(file, record.offset);
    assert.is((await openError(f.dir, engine)).code, 'CORRUPT');
  });

  wal('an unknown record kind (5..127) is CORRUPT', async () => {
    const f = copy(small);
    const { file, record } = findRecord(f.dir, 7n);
    setByte(file, record.offset + 16, () => 5);
    fixRecordCrc(file, record.offset);
    assert.is((await openError(f.dir, engine)).code, 'CORRUPT');
  });

  wal('an optional record kind (128..255) is skipped and its LSN still counts', async () => {
    const f = copy(small);
    const { file, record } = findRecord(f.dir, 7n);
    setByte(file, record.offset + 16, () => 200);
    fixRecordCrc(file, record.offset);
    const db = await openDir(f.dir, engine);
    assert.equal([db.get(fixtureKey(6)), wrongKeys(db, f, 7, 40), (await db.put('after', 'x')).version], [undefined, [], 41n]);
    await db.close();
  });

  wal('an LSN out of sequence is CORRUPT', async () => {
    const f = copy(small);
    const { file, record } = findRecord(f.dir, 12n);
    writeU64(file, record.offset + 8, 13n);
    fixRecordCrc(file, record.offset);
    assert.is((await openError(f.dir, engine)).code, 'CORRUPT');
  });

  wal.run();

  const repair = suite(`truncateCorruptTail [${engine}]`);

  repair('opens with the records before a corrupt one and logs an error', async () => {
    const f = copy(small);
    const log: Log = [];
    const { file, record } = findRecord(f.dir, 11n);
    setByte(file, record.end - 1, flip);
    const db = await openDir(f.dir, engine, { truncateCorruptTail: true }, log);
    assert.equal([wrongKeys(db, f, 0, 10), db.count()], [[], 10]);
    assert.ok(log.some(([level]) => level === 'error'), JSON.stringify(log));
    await db.close();
  });

  repair('drops the segments after a corrupt one', async () => {
    const f = copy(multi);
    const first = segments(f.dir)[0]!;
    const bad = records(first).pop()!;
    setByte(first, bad.end - 1, flip);
    const db = await openDir(f.dir, engine, { truncateCorruptTail: true });
    assert.equal([wrongKeys(db, f, 0, Number(bad.lsn) - 1), db.count()], [[], Number(bad.lsn) - 1]);
    await db.close();
  });

  repair('a repaired store takes new writes that survive a reopen', async () => {
    const f = copy(small);
    const { file, record } = findRecord(f.dir, 11n);
    setByte(file, record.end - 1, flip);
    let db = await openDir(f.dir, engine, { truncateCorruptTail: true });
    assert.is((await db.put('after', 'x')).version, 11n);
    await db.close();
    db = await openDir(f.dir, engine);
    assert.equal([db.get('after')?.toString(), db.count()], ['x', 11]);
    await db.close();
  });

  repair('an open that failed with CORRUPT leaves the directory free for a repairing open', async () => {
    const f = copy(small);
    const { file, record } = findRecord(f.dir, 11n);
    setByte(file, record.end - 1, flip);
    assert.is((await openError(f.dir, engine)).code, 'CORRUPT');
    await (await openDir(f.dir, engine, { truncateCorruptTail: true })).close();
  });

  repair.run();

  const ckpt = suite(`checkpoint files [${engine}]`);

  ckpt('checkpointed and WAL-only records both come back', async () => {
    const db = await openDir(copy(checkpointed).dir, engine);
    assert.equal([wrongKeys(db, checkpointed, 0, 30), db.getEntry(fixtureKey(5))?.version, db.getEntry(fixtureKey(25))?.version], [[], 6n, 26n]);
    await db.close();
  });

  ckpt('a control file with a bad CRC is CORRUPT', async () => {
    const f = copy(checkpointed);
    setByte(path.join(f.dir, 'control'), 20, flip);
    assert.is((await openError(f.dir, engine)).code, 'CORRUPT');
  });

  ckpt('a control file naming a missing snapshot is CORRUPT', async () => {
    const f = copy(checkpointed);
    writeU64(path.join(f.dir, 'control'), 16, 7n);
    fixControlCrc(f.dir);
    assert.is((await openError(f.dir, engine)).code, 'CORRUPT');
  });

  ckpt('a snapshot with a flipped byte is CORRUPT', async () => {
    const f = copy(checkpointed);
    const snap = snapshotFile(f.dir);
    setByte(snap, 40, flip);
    assert.is((await openError(f.dir, engine)).code, 'CORRUPT');
  });

  ckpt('a snapshot cut short is CORRUPT', async () => {
    const f = copy(checkpointed);
    const snap = snapshotFile(f.dir);
    shrinkFile(snap, fs.statSync(snap).size - 3);
    assert.is((await openError(f.dir, engine)).code, 'CORRUPT');
  });

  ckpt('a snapshot entry versioned at or after redo is CORRUPT even under a valid CRC', async () => {
    const f = copy(checkpointed);
    const snap = snapshotFile(f.dir);
    writeU64(snap, 32 + 8, 21n); // first entry's version; redo is 21
    fixSnapshotCrc(snap);
    assert.is((await openError(f.dir, engine)).code, 'CORRUPT');
  });

  ckpt.run();
}

const pairs = ENGINES.flatMap((from) => ENGINES.filter((to) => to !== from).map((to) => [from, to] as const));
if (pairs.length === 0) console.log(`  cross-engine directories: skipped, needs two engines in KVSTORE_TEST_ENGINES (have ${ENGINES.join(',')})`);
for (const [from, to] of pairs) {
  const cross = suite(`cross-engine directories [${from} → ${to}]`);

  cross(`a ${from} directory (snapshot + WAL) opens with ${to}, and ${to}'s additions open with ${from}`, async () => {
    const f = await writeFixture(from, { start: 0, count: 30, big: 0, checkpointAt: 20 });
    const g = await writeFixture(to, { start: 30, count: 10, big: 0, checkpointAt: 5 }, f.dir);
    const db = await openDir(f.dir, from);
    assert.equal([wrongKeys(db, f, 0, 30), wrongKeys(db, g, 30, 40)], [[], []]);
    assert.equal([db.getEntry(fixtureKey(3))?.version, db.getEntry(fixtureKey(33))?.version, db.getEntry(fixtureKey(38))?.version], [4n, 34n, 39n]);
    await db.close();
  });

  cross(`a ${from} directory closed cleanly (checkpoint only) opens with ${to}`, async () => {
    const dir = tempDir('cross');
    let db = await openDir(dir, from);
    await Promise.all([db.put('a', '1'), db.put('b', '2'), db.incr('n', 5n)]);
    await db.close();
    db = await openDir(dir, to);
    assert.equal([db.get('a')?.toString(), db.get('b')?.toString(), await db.incr('n'), db.count()], ['1', '2', 6n, 3]);
    await db.close();
  });

  cross.run();
}
