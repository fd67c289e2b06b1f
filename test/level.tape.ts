/**
 * abstract-level's own compliance suite (`abstract-level/test`, tape) against KvLevel, once per
 * engine in ENGINES. test/run.mjs runs *.tape.js files directly and counts their TAP
 * assertions beside the uvu tests. Where the manifest declines a feature (implicit and
 * explicit snapshots: ts/level/index.ts says why), the suite runs its "no snapshot" tests
 * instead, as it does for every implementation without them.
 *
 * Durability is `none` here: the suite checks the Level contract, which is the same under every
 * policy (a write's promise still settles only after the engine took it), and thousands of
 * fdatasyncs would make it slow without testing anything more. test/store.test.ts runs the
 * store under each policy.
 */
import path from 'node:path';
import tape from 'tape';
import suite from 'abstract-level/test/index.js';
import { KvLevel } from '../ts/level/index.js';
import { ENGINES, tempDir } from './helpers.js';

for (const engine of ENGINES) {
  const root = tempDir(`level-${engine}`);
  let n = 0;
  tape(`--- abstract-level suite, ${engine} engine ---`, (t) => {
    t.ok(true, engine);
    t.end();
  });
  suite({
    test: tape,
    // A fresh location per database: the suite opens hundreds and expects each to start empty.
    factory: (options?: Record<string, unknown>) => new KvLevel(path.join(root, String(n++)), { ...options, store: { engine, durability: 'none' } }),
  });
}
