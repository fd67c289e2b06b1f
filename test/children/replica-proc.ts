/**
 * Child for test/replication-replica.test.ts: argv = dir engine url apiKey standbyId.
 * Opens an embedded replica and prints {"applied": "<lsn>"} each time its applied LSN moves
 * (checked every 20 ms), until killed; exits when the parent dies.
 */
import { open } from '../../ts/index.js';
import type { EngineName } from '../helpers.js';
import { emit } from './emit.js';
import { exitWithParent } from './exit-with-parent.js';

const [dir, engine, url, apiKey, standbyId] = process.argv.slice(2) as [string, EngineName, string, string, string];
exitWithParent();
const replica = await open({ dir, engine, replicaOf: url, apiKey, standbyId, onLog: () => undefined });
let last = -1n;
setInterval(() => {
  const a = replica.replication().appliedLsn;
  if (a !== last) emit({ applied: String((last = a)) });
}, 20);
