/**
 * Backup child for the kill -9 tests: argv = dir engine repo mode.
 * mode "backup": writes, then takes base backups in a loop while writing (without a new
 * checkpoint, so each backup's WAL part spans many small files), printing `file <path>`
 * after each file is stored and `backup <id>` after each manifest.
 * mode "archive": archives the WAL to repo in small chunks while writing, printing
 * `shipped <key>` per chunk, after one base backup (`backup <id>`).
 * Both go on until killed (bounded: 10 minutes).
 */
import { open } from '../../ts/index.js';
import { WalArchiver } from '../../ts/backup/archiver.js';
import { DirRepo } from '../../ts/backup/dir-repo.js';
import type { EngineName } from '../helpers.js';
import { exitWithParent } from './exit-with-parent.js';

const [dir, engine, repoDir, mode] = process.argv.slice(2) as [string, EngineName, string, 'backup' | 'archive'];
exitWithParent();
const say = (s: string): void => void process.stdout.write(`${s}\n`);
const db = await open({ dir, engine, durability: 'always', walSegmentBytes: 64 * 1024, checkpointWalBytes: 0, onLog: () => undefined });
const repo = new DirRepo(repoDir);
const value = Buffer.alloc(300, 'v');
for (let i = 0; i < 400; i++) await db.put(`seed-${i}`, value);
const deadline = Date.now() + 600_000;
let n = 0;
const writer = (async () => {
  while (Date.now() < deadline) {
    await Promise.all(Array.from({ length: 8 }, () => db.put(`k${n++ % 500}`, value)));
  }
})();
if (mode === 'backup') {
  say(`backup ${(await db.backup(repo, { walFileBytes: 8 * 1024 })).id}`);
  while (Date.now() < deadline) {
    const m = await db.backup(repo, { checkpoint: false, walFileBytes: 8 * 1024, onFile: (p) => say(`file ${p}`) });
    say(`backup ${m.id}`);
  }
} else {
  const archiver = new WalArchiver(db._replication(), repo, { partialIntervalMs: 20, chunkBytes: 4 * 1024, timeMarkerMs: 50, log: () => {}, onShipped: (k) => say(`shipped ${k}`) });
  await archiver.start();
  say(`backup ${(await db.backup(repo)).id}`);
}
await writer;
