/**
 * The data directory's LOCK across processes: a second process gets LOCKED while the
 * directory is open anywhere (either engine, in either process), and a LOCK left behind by
 * a dead process does not block. Every combination of ENGINES runs.
 */
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { open } from '../ts/index.js';
import { ENGINES, type EngineName, rejectsWith, tempDir } from './helpers.js';
import { deadPid, runChild, sleep, startChild } from './proc.js';

/** What a child process gets when it opens dir: 'ok' or the error code. */
async function childOpens(dir: string, engine: EngineName): Promise<string> {
  const { lines, code, stderr } = await runChild('open-once', [dir, engine, 'try']);
  const res = JSON.parse(lines[0] ?? `{"code":"child exited ${code}: ${stderr.replace(/"/g, "'").slice(0, 500)}"}`) as { ok?: boolean; code?: string };
  return res.ok ? 'ok' : String(res.code);
}

const opts = (dir: string, engine: EngineName) => ({ dir, engine, onLog: () => undefined });

for (const held of ENGINES) {
  for (const other of ENGINES) {
    const test = suite(`LOCK [held by ${held}, opened by ${other}]`);

    test('a second process gets LOCKED while this one holds the directory', async () => {
      const dir = tempDir('lock');
      const db = await open(opts(dir, held));
      assert.is(await childOpens(dir, other), 'LOCKED');
      await db.close();
    });

    test('after close, another process can open the directory', async () => {
      const dir = tempDir('lock');
      const db = await open(opts(dir, held));
      await db.put('k', 'v');
      await db.close();
      assert.is(await childOpens(dir, other), 'ok');
    });

    test('a directory held by another process is LOCKED here', async () => {
      const dir = tempDir('lock');
      const child = startChild('open-once', [dir, held, 'hold']);
      try {
        assert.is(await child.waitFor(() => true), '{"ok":true}');
        await rejectsWith('LOCKED', () => open(opts(dir, other)));
      } finally {
        await child.kill();
      }
    });

    test('a process killed while holding the directory does not block the next open', async () => {
      const dir = tempDir('lock');
      const child = startChild('open-once', [dir, held, 'hold']);
      assert.is(await child.waitFor(() => true), '{"ok":true}');
      await child.kill();
      const db = await open(opts(dir, other));
      await db.close();
    });

    test.run();
  }
}

for (const engine of ENGINES) {
  const test = suite(`stale LOCK [${engine}]`);

  test('a LOCK naming a dead pid does not block, here or in another process', async () => {
    const dir = tempDir('stale');
    fs.writeFileSync(path.join(dir, 'LOCK'), `${await deadPid()}\n`);
    const db = await open(opts(dir, engine));
    await db.close();
    fs.writeFileSync(path.join(dir, 'LOCK'), `${await deadPid()}\n`);
    assert.is(await childOpens(dir, engine), 'ok');
  });

  test('an empty or garbled LOCK does not block', async () => {
    const dir = tempDir('stale');
    for (const text of ['', 'not a pid\n']) {
      fs.writeFileSync(path.join(dir, 'LOCK'), text);
      await (await open(opts(dir, engine))).close();
    }
  });

  test('a LOCK naming another live process is honoured (postmaster.pid scheme)', async () => {
    const dir = tempDir('stale');
    const sleeper = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)'], { stdio: 'ignore' });
    fs.writeFileSync(path.join(dir, 'LOCK'), `${sleeper.pid}\n`);
    try {
      await rejectsWith('LOCKED', () => open(opts(dir, engine)));
    } finally {
      sleeper.kill('SIGKILL');
    }
  });

  test.run();
}

const mixes: EngineName[][] = [...ENGINES.map((e) => [e, e, e, e]), ...(ENGINES.length > 1 ? [[...ENGINES, ...ENGINES]] : [])];
for (const mix of mixes) {
  const test = suite(`LOCK race [${mix.join(',')}]`);

  const race = (stale: boolean) => async () => {
    for (let trial = 0; trial < 8; trial++) {
      const dir = tempDir('race');
      if (stale) fs.writeFileSync(path.join(dir, 'LOCK'), `${await deadPid()}\n`);
      const go = path.join(tempDir('race-go'), 'go');
      const kids = mix.map((engine) => startChild('open-once', [dir, engine, 'race', go]));
      await sleep(300);
      fs.writeFileSync(go, '');
      const got = await Promise.all(kids.map((k) => k.waitFor(() => true)));
      await Promise.all(kids.map((k) => k.kill()));
      const why = `trial ${trial}: ${got.join(' ')} ${kids.map((k) => k.stderr()).join('')}`;
      assert.equal(got.filter((l) => l === '{"ok":true}').length, 1, why);
      assert.equal(got.filter((l) => l === '{"code":"LOCKED"}').length, mix.length - 1, why);
    }
  };

  test('of processes opening at the same instant, exactly one gets the directory', race(false));
  test('of processes breaking the same stale LOCK at once, exactly one gets the directory', race(true));

  test.run();
}
