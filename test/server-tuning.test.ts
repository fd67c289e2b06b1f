/**
 * kvstored's engine tuning (issue 13, item 7): interval_ms, shards, wal_segment_bytes and
 * checkpoint_wal_bytes come from the file, the environment or a flag like every setting, are
 * validated with the field's name and source, agree with open()'s own defaults and ranges,
 * and reach the engine: a real kvstored child shows each one in its behaviour (segments
 * rolled, automatic checkpoints, fdatasync timing).
 */
import fs from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { FIELDS, loadConfig } from '../ts/server/config.js';
import { resolveOptions } from '../ts/store/options.js';
import { ADMIN_PASSWORD, startKvstored } from './cli-proc.js';
import { ENGINES, repoRoot, tempDir } from './helpers.js';

const TUNING = ['intervalMs', 'shards', 'walSegmentBytes', 'checkpointWalBytes'] as const;

const cfg = suite('kvstored engine tuning: configuration');

cfg('each tuning setting comes from the file, the environment or a flag (later wins)', () => {
  const dir = tempDir('tuning');
  const file = path.join(dir, 'kvstored.toml');
  fs.writeFileSync(file, 'interval_ms = 250\nshards = 8\nwal_segment_bytes = 1048576\ncheckpoint_wal_bytes = 0\n');
  const fromFile = loadConfig(['--config', file], {});
  assert.equal([fromFile.config.intervalMs, fromFile.config.shards, fromFile.config.walSegmentBytes, fromFile.config.checkpointWalBytes], [250, 8, 1048576, 0]);
  assert.is(fromFile.sources.shards, file);
  const fromEnv = loadConfig(['--config', file], { KVSTORE_SHARDS: '16', KVSTORE_INTERVAL_MS: '5' });
  assert.equal([fromEnv.config.shards, fromEnv.config.intervalMs, fromEnv.sources.shards], [16, 5, 'KVSTORE_SHARDS']);
  const fromFlag = loadConfig(['--config', file, '--shards', '32', '--wal-segment-bytes=65536', '--checkpoint-wal-bytes', '1000000'], { KVSTORE_SHARDS: '16' });
  assert.equal([fromFlag.config.shards, fromFlag.config.walSegmentBytes, fromFlag.config.checkpointWalBytes, fromFlag.sources.shards], [32, 65536, 1000000, '--shards']);
  // the shipped example sets them to their defaults
  const example = loadConfig(['--config', path.join(repoRoot, 'deploy', 'kvstored.example.toml')], {}).config;
  const defaults = loadConfig([], {}).config;
  for (const t of TUNING) assert.is(example[t], defaults[t], t);
});

cfg('bad values are refused with the setting and its source', () => {
  const refuses = (argv: string[], env: NodeJS.ProcessEnv, re: RegExp): void => {
    assert.throws(() => loadConfig(argv, env), (e: Error & { code?: string }) => e.code === 'INVALID_ARGUMENT' && re.test(e.message), `${argv.join(' ')} ${JSON.stringify(env)}`);
  };
  refuses(['--shards', '3'], {}, /^config: shards \(from --shards\)/);
  refuses(['--shards', '8192'], {}, /^config: shards \(from --shards\)/);
  refuses([], { KVSTORE_INTERVAL_MS: '0' }, /^config: interval_ms \(from KVSTORE_INTERVAL_MS\)/);
  refuses(['--wal-segment-bytes', '1000'], {}, /^config: wal_segment_bytes/);
  refuses(['--checkpoint-wal-bytes', '-1'], {}, /^config: checkpoint_wal_bytes/);
  refuses(['--interval-ms', 'fast'], {}, /^config: interval_ms/);
});

cfg("defaults and ranges are open()'s own: the config can never accept what the store refuses, or refuse what it takes", () => {
  const engineDefaults = resolveOptions({ dir: 'x' }).config;
  const defaults = loadConfig([], {}).config;
  for (const t of TUNING) {
    assert.is(defaults[t], engineDefaults[t], `default of ${t}`);
    const f = FIELDS.find((x) => x.name === t)!;
    for (const v of [f.min!, f.max!]) {
      assert.is(loadConfig([`--${t.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}=${v}`], {}).config[t], v);
      resolveOptions({ dir: 'x', [t]: v }); // does not throw
    }
    for (const v of [f.min! - 1, f.max! + 1]) {
      assert.throws(() => resolveOptions({ dir: 'x', [t]: v }), undefined, `open() refuses ${t} = ${v}`);
      assert.throws(() => loadConfig([`--${t.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}=${v}`], {}), undefined, `config refuses ${t} = ${v}`);
    }
  }
  assert.throws(() => resolveOptions({ dir: 'x', shards: 48 }));
  assert.throws(() => loadConfig(['--shards=48'], {}));
});

cfg.run();

const proc = suite('kvstored engine tuning: reaches the engine');

async function session(url: string): Promise<Record<string, string>> {
  const r = await fetch(`${url}/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'admin', password: ADMIN_PASSWORD }) });
  assert.is(r.status, 200);
  return { authorization: `Bearer ${((await r.json()) as { token: string }).token}` };
}

interface Stats { walSegments: number; checkpoints: number; fsyncs: number }
const stats = async (url: string, h: Record<string, string>): Promise<Stats> => (await (await fetch(`${url}/v1/admin/stats`, { headers: h })).json()) as Stats;

async function put(url: string, h: Record<string, string>, key: string, bytes: number): Promise<void> {
  const r = await fetch(`${url}/v1/kv/${key}`, { method: 'PUT', headers: h, body: Buffer.alloc(bytes, 'x') });
  assert.is(r.status, 200, await r.text());
}

for (const engine of ENGINES) {
  proc(`[${engine}] wal_segment_bytes = 64 KiB: 200 KiB of writes roll at least three segments (one at the default)`, async () => {
    const s = await startKvstored(tempDir('tuning'), ['--engine', engine, '--wal-segment-bytes', '65536', '--shards', '1']);
    try {
      const h = await session(s.url);
      for (let i = 0; i < 20; i++) await put(s.url, h, `seg:${i}`, 10_000);
      assert.ok((await stats(s.url, h)).walSegments >= 3, JSON.stringify(await stats(s.url, h)));
    } finally {
      assert.is(await s.stop(), 0);
    }
    const d = await startKvstored(tempDir('tuning'), ['--engine', engine]);
    try {
      const h = await session(d.url);
      for (let i = 0; i < 20; i++) await put(d.url, h, `seg:${i}`, 10_000);
      assert.is((await stats(d.url, h)).walSegments, 1);
    } finally {
      assert.is(await d.stop(), 0);
    }
  });

  proc(`[${engine}] checkpoint_wal_bytes = 64 KiB checkpoints by itself; interval_ms decides when an interval-mode write is synced`, async () => {
    const s = await startKvstored(tempDir('tuning'), ['--engine', engine, '--durability', 'interval', '--interval-ms', '20', '--checkpoint-wal-bytes', '65536']);
    try {
      const h = await session(s.url);
      const before = await stats(s.url, h);
      await put(s.url, h, 'small', 10);
      let now = before;
      for (let i = 0; i < 20 && now.fsyncs <= before.fsyncs; i++) {
        await new Promise((r) => setTimeout(r, 100));
        now = await stats(s.url, h);
      }
      assert.ok(now.fsyncs > before.fsyncs, `fsyncs ${before.fsyncs} → ${now.fsyncs}`);
      assert.is(now.checkpoints, 0);
      for (let i = 0; i < 20; i++) await put(s.url, h, `ckpt:${i}`, 10_000);
      for (let i = 0; i < 50 && now.checkpoints === 0; i++) {
        await new Promise((r) => setTimeout(r, 100));
        now = await stats(s.url, h);
      }
      assert.ok(now.checkpoints >= 1, 'an automatic checkpoint after 64 KiB of WAL');
    } finally {
      assert.is(await s.stop(), 0);
    }
    const slow = await startKvstored(tempDir('tuning'), ['--engine', engine, '--durability', 'interval', '--interval-ms', '60000']);
    try {
      const h = await session(slow.url);
      const before = await stats(slow.url, h);
      for (let i = 0; i < 5; i++) await put(slow.url, h, `slow:${i}`, 10);
      await new Promise((r) => setTimeout(r, 500));
      assert.is((await stats(slow.url, h)).fsyncs, before.fsyncs, 'no fdatasync before the 60 s interval');
    } finally {
      assert.is(await slow.stop(), 0);
    }
  });
}

proc('an invalid shards value stops kvstored at start (exit 2), naming the setting', async () => {
  await startKvstored(tempDir('tuning'), ['--shards', '3']).then(
    () => assert.unreachable('kvstored started with shards = 3'),
    (e: Error) => assert.match(e.message, /exited \(2\)/),
  );
});

proc.run();
