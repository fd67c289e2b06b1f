/**
 * Transactions and the change feed of the embedded store, as the docs show them: each
 * `// #region <document>` … `// #endregion` below is, verbatim (less its indentation), a
 * ```ts block of that document. test/examples.test.ts fails when a region and its document
 * drift apart, and runs this program and checks what it prints.
 *
 *   node dist/examples/txn-watch.js [dir]     (default: a new temporary directory)
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { open, type Store, type TxnResponse, type WatchEvent } from '../ts/index.js';

/** README.md, "Quick start (embedded)": a read-compare-write transaction, then the feed. */
async function readme(db: Store): Promise<void> {
  // #region README.md
  const cur = db.getEntry('stock:42');
  const { succeeded, version } = await db.txn({      // compares + the branch: atomic, one WAL record
    compare: [{ key: 'stock:42', op: '=', version: cur?.version ?? 0n }],
    success: [{ type: 'put', key: 'stock:42', value: '9' }, { type: 'incr', key: 'sold:42' }],
    failure: [{ type: 'get', key: 'stock:42' }],
  });
  console.log(succeeded);                             // true: nobody wrote stock:42 since we read it
  for await (const e of db.watch({ prefix: 'stock:' }, { fromVersion: 1n })) {  // every change, in LSN order
    console.log(e.type, `${e.key}`, e.version);       // 'put' | 'del'; a batch's events share one version
    if (e.version === version) break;                 // up to the transaction's own write
  }
  // #endregion
}

/** docs/api.md, store.txn. */
async function apiTxn(db: Store): Promise<TxnResponse> {
  // #region docs/api.md
  const cur = db.getEntry('stock:42');
  const r = await db.txn({
    compare: [{ key: 'stock:42', op: '=', version: cur?.version ?? 0n }],  // nobody wrote since we read
    success: [{ type: 'put', key: 'stock:42', value: '9' }, { type: 'incr', key: 'sold:42' }, { type: 'get', key: 'sold:42' }],
    failure: [{ type: 'get', key: 'stock:42' }],
  });
  r.succeeded;  // which branch ran
  r.version;    // the LSN of its WAL record, shared by every entry it wrote (0n: it wrote nothing)
  r.results;    // one per op of that branch: { type: 'put', version } | { type: 'del', deleted }
                // | { type: 'get', value, version } (value undefined, version 0n: absent) | { type: 'incr', value }
  // #endregion
  return r;
}

/** docs/api.md, store.watch: resume after the last version handled, stop at a marker. */
async function apiWatch(db: Store, done: (e: WatchEvent) => boolean): Promise<bigint> {
  let lastSeen = 0n;
  // #region docs/api.md
  const w = db.watch({ prefix: 'order:' }, { fromVersion: lastSeen + 1n });  // lastSeen: the last version handled
  for await (const e of w) {
    // { type: 'put', key, value, version, expiresAt? } or { type: 'del', key, version }
    lastSeen = e.version;        // after a restart, watch again from lastSeen + 1n: no gap, no duplicate
    if (done(e)) break;          // or w.close() from anywhere
  }
  // #endregion
  return lastSeen;
}

const dir = process.argv[2] ?? fs.mkdtempSync(path.join(os.tmpdir(), 'kvstore-txn-watch-'));
const db = await open({ dir });
try {
  await db.put('stock:42', '10');
  await readme(db);
  const r = await apiTxn(db);
  const shown = r.results.map((x) => (x.type === 'put' ? 'put' : x.type === 'del' ? `del ${x.deleted}` : x.type === 'get' ? `get ${x.value?.toString()}` : `incr ${x.value}`));
  console.log(`txn: succeeded ${r.succeeded}, results ${shown.join(', ')}`);
  await db.batch([{ type: 'put', key: 'order:1', value: 'new' }, { type: 'put', key: 'order:2', value: 'new' }]);
  await db.delete('order:1');
  const last = await apiWatch(db, (e) => e.type === 'del');
  console.log(`watch: stopped at version ${last}`);
} finally {
  await db.close();
}
