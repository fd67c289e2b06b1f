/**
 * Backup benchmark (issue 16): a store of --keys entries (100 B values) is
 *   1. backed up into a directory repository (time, MB/s) next to `cp -r` of the same
 *      files (snapshot + WAL);
 *   2. restored into a new directory (time; then opened, recovery included);
 *   3. written to (durable puts, durability always, 64 in flight) with no backup and while
 *      backups run back to back: the ratio (target >= 0.8);
 *   4. written to the same way with and without WAL archiving to a directory (target >= 0.9).
 * The phases of 3 and 4 alternate over 3 rounds (--seconds each in all) and medians are
 * compared, since the machine may be shared.
 * Prints a table and writes bench/out/backup.json.
 *
 *   node dist/bench/backup.js [--keys 1000000] [--engine native|js] [--seconds 3] [--dir D] [--backup-mb-per-s M]
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { open } from '../ts/store/store.js';
import type { Store } from '../ts/store/store.js';
import { WalArchiver } from '../ts/backup/archiver.js';
import { DirRepo } from '../ts/backup/dir-repo.js';
import { restoreBackup } from '../ts/backup/restore.js';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i]!.replace(/^--/, ''), process.argv[i + 1] ?? '');
const keys = Number(args.get('keys') ?? 1_000_000);
const engine = (args.get('engine') ?? 'native') as 'native' | 'js';
const seconds = Number(args.get('seconds') ?? 3);
/** --backup-mb-per-s: the backups of phase 3 are throttled to this (default: unlimited). */
const limit = args.has('backup-mb-per-s') ? Number(args.get('backup-mb-per-s')) * 1e6 : undefined;
const root = fs.mkdtempSync(path.join(args.get('dir') ?? os.tmpdir(), 'kvstore-bench-backup-'));
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

const now = (): number => performance.now();
const ROUNDS = 3;
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const du = (p: string): number => {
  let n = 0;
  for (const e of fs.readdirSync(p, { withFileTypes: true })) {
    const f = path.join(p, e.name);
    n += e.isDirectory() ? du(f) : e.isFile() ? fs.statSync(f).size : 0;
  }
  return n;
};

/** Durable puts, 64 in flight, for `ms`: ops/s. `during` runs alongside until the time is up. */
async function putRate(store: Store, ms: number, tag: string): Promise<number> {
  const value = Buffer.alloc(100, 'w');
  let n = 0;
  const end = now() + ms;
  const lane = async (l: number): Promise<void> => {
    for (let i = 0; now() < end && i < 1e8; i++) {
      await store.put(`${tag}-${l}-${i % 1000}`, value);
      n++;
    }
  };
  await Promise.all(Array.from({ length: 64 }, (_, l) => lane(l)));
  return n / (ms / 1000);
}

async function main(): Promise<void> {
  try {
    const src = path.join(root, 'src');
    const store = await open({ dir: src, engine, durability: 'always', checkpointWalBytes: 0 });
    const value = Buffer.alloc(100, 'v');
    const t0 = now();
    for (let i = 0; i < keys; i += 1000) {
      const ops = [];
      for (let j = i; j < Math.min(keys, i + 1000); j++) ops.push({ type: 'put' as const, key: `key-${String(j).padStart(9, '0')}`, value });
      await store.batch(ops);
    }
    await store.checkpoint();
    const loadMs = now() - t0;
    // 1. Backup vs cp -r of the same files.
    const repoDir = path.join(root, 'repo');
    const b0 = now();
    const m = await store.backup(repoDir, { checkpoint: false });
    const backupMs = now() - b0;
    const cpDir = path.join(root, 'cp');
    fs.mkdirSync(cpDir);
    const c0 = now();
    execFileSync('cp', ['-r', path.join(repoDir, 'backups', m.id), cpDir]);
    execFileSync('sync', ['-f', cpDir]);
    const cpMs = now() - c0;
    const cpBytes = du(cpDir);
    fs.rmSync(cpDir, { recursive: true, force: true });
    // 2. Restore, then open (recovery).
    const r0 = now();
    const res = await restoreBackup(repoDir, path.join(root, 'restored'));
    const restoreMs = now() - r0;
    const o0 = now();
    const restored = await open({ dir: res.dir, engine });
    const openMs = now() - o0;
    const restoredKeys = restored.count();
    await restored.close();
    fs.rmSync(res.dir, { recursive: true, force: true });
    // 3. Writes with and without a backup running; 4. with and without archiving. The phases
    // alternate over ROUNDS rounds and the medians are compared: this machine is shared.
    const ms = (seconds * 1000) / ROUNDS;
    const quietR: number[] = [];
    const busyR: number[] = [];
    let backups = 0;
    for (let r = 0; r < ROUNDS; r++) {
      quietR.push(await putRate(store, ms, 'q'));
      let stop = false;
      const loop = (async () => {
        while (!stop) {
          await store.backup(path.join(root, 'repo-load'), { checkpoint: false, ...(limit ? { maxBytesPerSecond: limit } : {}) });
          backups++;
        }
      })();
      busyR.push(await putRate(store, ms, 'b'));
      stop = true;
      await loop;
    }
    const archiver = new WalArchiver(store._replication(), new DirRepo(path.join(root, 'archive')), { partialIntervalMs: 1000, log: () => {} });
    await archiver.start();
    await archiver.flush(); // the backlog (the load) first: measure the steady state
    await archiver.stop();
    const plainR: number[] = [];
    const archivedR: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      plainR.push(await putRate(store, ms, 'p'));
      const a = new WalArchiver(store._replication(), new DirRepo(path.join(root, 'archive')), { partialIntervalMs: 1000, log: () => {} });
      await a.start();
      archivedR.push(await putRate(store, ms, 'a'));
      await a.stop();
    }
    await store.close();
    const [quiet, busy, plain, archived] = [quietR, busyR, plainR, archivedR].map(median) as [number, number, number, number];

    const mbs = (bytes: number, msec: number): number => bytes / 1e6 / (msec / 1000);
    const rows: Array<[string, string, string]> = [
      ['keys (100 B values)', String(keys), `loaded in ${(loadMs / 1000).toFixed(1)} s`],
      ['backup', `${(backupMs / 1000).toFixed(2)} s`, `${mbs(m.totalBytes, backupMs).toFixed(1)} MB/s (${(m.totalBytes / 1e6).toFixed(1)} MB, SHA-256 of every byte)`],
      ["cp -r of the backup's files + sync", `${(cpMs / 1000).toFixed(2)} s`, `${mbs(cpBytes, cpMs).toFixed(1)} MB/s (${(cpBytes / 1e6).toFixed(1)} MB)`],
      ['restore (build the directory)', `${(restoreMs / 1000).toFixed(2)} s`, `then open (recovery) ${(openMs / 1000).toFixed(2)} s; ${restoredKeys} keys`],
      ['durable puts/s, no backup', quiet.toFixed(0), ''],
      ['durable puts/s, backups running', busy.toFixed(0), `${(busy / quiet).toFixed(2)}× (target ≥ 0.8×; ${backups} backups${limit ? `, throttled to ${limit / 1e6} MB/s` : ', unthrottled'})`],
      ['durable puts/s, no archiving', plain.toFixed(0), ''],
      ['durable puts/s, archiving', archived.toFixed(0), `${(archived / plain).toFixed(2)}× (target ≥ 0.9×)`],
    ];
    const w = [Math.max(...rows.map((r) => r[0].length)), Math.max(...rows.map((r) => r[1].length))];
    process.stdout.write(`backup benchmark, engine ${engine}, ${os.cpus().length} CPUs\n`);
    for (const [a, b, c] of rows) process.stdout.write(`${a.padEnd(w[0]!)}  ${b.padStart(w[1]!)}  ${c}\n`);
    const json = {
      scenario: 'backup', engine, keys, valueBytes: 100, seconds, cpus: os.cpus().length,
      backup: { ms: backupMs, bytes: m.totalBytes, mbPerS: mbs(m.totalBytes, backupMs) },
      cp: { ms: cpMs, bytes: cpBytes, mbPerS: mbs(cpBytes, cpMs) },
      restore: { ms: restoreMs, openMs, keys: restoredKeys },
      writesDuringBackup: { quiet, busy, ratio: busy / quiet, target: 0.8, backups, backupBytesPerSecondLimit: limit ?? null, rounds: { quiet: quietR, busy: busyR } },
      archiving: { plain, archived, ratio: archived / plain, target: 0.9, rounds: { plain: plainR, archived: archivedR } },
    };
    const outDir = path.join(repoRoot, 'bench', 'out');
    fs.mkdirSync(outDir, { recursive: true });
    fs.writeFileSync(path.join(outDir, 'backup.json'), JSON.stringify(json, null, 2) + '\n');
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

await main();
