/**
 * LOCK-test child: argv = dir engine mode. mode 'try': open, print {"ok":true} or
 * {"code":...}, close, exit. mode 'hold': open, print {"ok":true} (or the error) and keep
 * the directory until killed. mode 'race': like 'hold', but first spins until the file
 * argv[3] exists, so that several children call open() at the same instant.
 */
import fs from 'node:fs';
import { open } from '../../ts/index.js';
import type { EngineName } from '../helpers.js';
import { exitWithParent } from './exit-with-parent.js';

const [dir, engine, mode, go] = process.argv.slice(2) as [string, EngineName, string, string?];
if (mode === 'race') {
  const until = Date.now() + 10_000;
  while (!fs.existsSync(go!) && Date.now() < until); // busy-wait: a timer would spread the start
}
try {
  const db = await open({ dir, engine, onLog: () => undefined });
  process.stdout.write(JSON.stringify({ ok: true }) + '\n');
  if (mode !== 'try') exitWithParent();
  else await db.close();
} catch (err) {
  const code = (err as { code?: unknown }).code ?? String(err);
  if (code !== 'LOCKED') process.stderr.write(`open-once: ${String(err)}\n`);
  process.stdout.write(JSON.stringify({ code }) + '\n');
}
