/**
 * fsync/write failure is fatal for writes (PostgreSQL's 2018 lesson): a real full disk —
 * a tmpfs mounted small — makes the WAL write fail. Pending and later writes must reject
 * with IO_ERROR, reads must go on, and reopening with space again must recover every
 * write that was acknowledged. Needs root (mount); CI runs as root.
 */
import { execFileSync } from 'node:child_process';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { open, type Store } from '../ts/index.js';
import { ENGINES, rejectsWith, tempDir } from './helpers.js';

function mountTmpfs(dir: string, size: string): void {
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir]);
}

for (const engine of ENGINES) {
  const test = suite(`disk full [${engine}]`);
  let mnt = '';
  test.before(() => {
    mnt = tempDir('enospc');
    mountTmpfs(mnt, '512k');
  });
  test.after(() => {
    execFileSync('umount', [mnt]);
  });

  test('a failed WAL write fails pending and later writes, keeps reads and loses no acked write', async () => {
    const logs: string[] = [];
    const db: Store = await open({
      dir: mnt, engine, durability: 'always', walSegmentBytes: 64 * 1024, checkpointWalBytes: 0,
      onLog: (level, m) => logs.push(`${level}: ${m}`),
    });
    const acked = new Map<string, string>();
    let failure: unknown;
    for (let i = 0; i < 2000 && !failure; i++) {
      const round = Array.from({ length: 8 }, (_, j) => {
        const k = `k${i}.${j}`;
        const v = `${k}:`.padEnd(1024, 'x');
        return db.put(k, v).then(() => void acked.set(k, v), (err: unknown) => void (failure ??= err));
      });
      await Promise.all(round);
    }
    assert.is((failure as { code?: string } | undefined)?.code, 'IO_ERROR');
    assert.ok(acked.size > 50, `only ${acked.size} writes fitted`);
    await rejectsWith('IO_ERROR', () => db.put('after', 'x'));
    const [k, v] = [...acked][0]!;
    assert.is(db.get(k)?.toString(), v, 'reads keep working');
    assert.ok(logs.some((l) => l.startsWith('error:')), 'the failure was logged');
    await db.close().catch(() => undefined);

    execFileSync('mount', ['-o', 'remount,size=8m', mnt]);
    const again = await open({ dir: mnt, engine, onLog: () => undefined });
    for (const [key, value] of acked) assert.is(again.get(key)?.toString(), value, key);
    await again.put('after', 'works again');
    await again.close();
  });

  test.run();
}
