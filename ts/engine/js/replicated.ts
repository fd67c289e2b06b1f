/**
 * Checking records a standby receives before anything of them is written (the native
 * twin is the first half of Engine::AppendReplicated, native/core/engine_standby.cc):
 * whole records with valid length and CRC, consecutive LSNs from `firstLsn`, and bodies of
 * known kinds that decode (kinds >= 128 are kept, not applied). Pure; throws coded errors.
 */
import { FormatError, KIND_FIRST_SKIPPABLE, MAX_LSN, decodeBody, readRecord } from '../format.js';
import { coded } from './io.js';

export interface CheckedRecords {
  /** [lsn, start offset, end offset] of each record in the buffer. */
  records: Array<[bigint, number, number]>;
  lastLsn: bigint;
}

/** Throws INVALID_ARGUMENT (empty), WAL_BAD_RECORD or WAL_LSN_MISMATCH. */
export function checkReplicated(buf: Buffer, firstLsn: bigint): CheckedRecords {
  if (buf.length === 0) throw coded('INVALID_ARGUMENT', 'no records to append');
  const records: Array<[bigint, number, number]> = [];
  let expect = firstLsn;
  for (let at = 0; at < buf.length; ) {
    const r = readRecord(buf, at);
    if (!r.ok) throw coded('WAL_BAD_RECORD', `replicated record at offset ${at} is not valid (${r.reason})`);
    if (r.lsn > MAX_LSN) throw coded('WAL_BAD_RECORD', `replicated record at offset ${at} carries LSN ${r.lsn}, past the last one a record may get`);
    if (r.lsn !== expect) {
      throw coded('WAL_LSN_MISMATCH', `replicated record at offset ${at} carries LSN ${r.lsn} where ${expect} was expected`);
    }
    if (r.kind < KIND_FIRST_SKIPPABLE) {
      try {
        decodeBody(r.kind, r.body);
      } catch (err) {
        if (!(err instanceof FormatError)) throw err;
        throw coded('WAL_BAD_RECORD', `replicated record ${r.lsn}: ${err.message}`);
      }
    }
    records.push([r.lsn, at, r.next]);
    expect++;
    at = r.next;
  }
  return { records, lastLsn: expect - 1n };
}
