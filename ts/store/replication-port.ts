/**
 * The ReplicationPort (ts/replication/port.ts) over an engine: what `Store._replication()`
 * returns. Kept out of store.ts so the data API stays one concept.
 */
import fs from 'node:fs';
import path from 'node:path';
import { SEGMENT_RE } from '../engine/format.js';
import type { Engine } from '../engine/types.js';
import { KvError, toKvError } from '../errors.js';
import type { ReplicationPort } from '../replication/port.js';

export function enginePort(engine: Engine, kind: 'native' | 'js', dir: string): ReplicationPort {
  return {
    engineKind: kind,
    dir,
    positions: () => engine.walPositions(),
    oldestLsn(): bigint {
      let names: string[];
      try {
        names = fs.readdirSync(path.join(dir, 'wal')).filter((f) => SEGMENT_RE.test(f)).sort();
      } catch {
        names = [];
      }
      return names.length > 0 ? BigInt(`0x${names[0]!.slice(0, 16)}`) : engine.walPositions().nextLsn;
    },
    async readWal(fromLsn, maxBytes) {
      try {
        return (await engine.readWal(fromLsn, maxBytes)).records;
      } catch (err) {
        throw toKvError(err);
      }
    },
    onFlushed: (fn) => engine.onFlushed((lsn, code) => {
      if (code === undefined) fn(lsn);
    }),
    async appendReplicated(records) {
      if (records.length < 17) throw new KvError('REPLICATION_PROTOCOL', `a WAL frame of ${records.length} bytes holds no whole record`);
      try {
        return await engine.appendReplicated(records, records.readBigUInt64LE(8));
      } catch (err) {
        throw toKvError(err);
      }
    },
    retainWal: (lsn) => engine.retainWal(lsn),
    writeMarker(kind, body) {
      try {
        return engine.writeMarker(kind, body);
      } catch (err) {
        throw toKvError(err);
      }
    },
  };
}
