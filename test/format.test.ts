import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { crc32c } from '../ts/engine/js/crc32c.js';
import {
  CONTROL_SIZE, KIND_BATCH, KIND_PUT, RECORD_HEADER, decodeBody, decodeControl, encodeBatchBody,
  encodeControl, encodePutBody, readRecord, segmentName, snapshotName, validRecordAfter, writeRecord,
} from '../ts/engine/format.js';

const crc = suite('crc32c');

crc('matches the published check value for "123456789"', () => {
  assert.is(crc32c(Buffer.from('123456789')), 0xe3069283);
});

crc('matches RFC 3720 vectors (32 zero bytes, 32 0xff bytes)', () => {
  assert.is(crc32c(Buffer.alloc(32)), 0x8a9136aa);
  assert.is(crc32c(Buffer.alloc(32, 0xff)), 0x62a8ab43);
});

crc('continues across chunks like one pass', () => {
  const b = Buffer.from('the quick brown fox jumps over the lazy dog, twice over');
  assert.is(crc32c(b.subarray(13), crc32c(b.subarray(0, 13))), crc32c(b));
});

crc.run();

const rec = suite('WAL record');

rec('header is 17 bytes and a PUT round-trips', () => {
  assert.is(RECORD_HEADER, 17);
  const body = encodePutBody(Buffer.from('k'), Buffer.from('value'), 1234);
  const buf = Buffer.alloc(RECORD_HEADER + body.length);
  writeRecord(buf, 0, 42n, KIND_PUT, body);
  const r = readRecord(buf, 0);
  assert.ok(r.ok);
  if (!r.ok) return;
  assert.is(r.lsn, 42n);
  assert.equal(decodeBody(r.kind, r.body), [{ type: 'put', key: Buffer.from('k'), value: Buffer.from('value'), expiresAt: 1234 }]);
});

rec('worked example from docs/on-disk-format.md stays byte-exact', () => {
  const body = encodePutBody(Buffer.from('a'), Buffer.from('1'), 0);
  const buf = Buffer.alloc(RECORD_HEADER + body.length);
  writeRecord(buf, 0, 1n, KIND_PUT, body);
  assert.is(buf.toString('hex'), DOC_EXAMPLE_HEX);
});

rec('a flipped bit fails the CRC', () => {
  const body = encodePutBody(Buffer.from('k'), Buffer.from('v'), 0);
  const buf = Buffer.alloc(RECORD_HEADER + body.length);
  writeRecord(buf, 0, 1n, KIND_PUT, body);
  buf[buf.length - 1]! ^= 1;
  assert.equal(readRecord(buf, 0), { ok: false, reason: 'crc' });
});

rec('a record cut short reads as short; zeroed space reads as zero', () => {
  const body = encodePutBody(Buffer.from('k'), Buffer.from('v'), 0);
  const buf = Buffer.alloc(RECORD_HEADER + body.length);
  writeRecord(buf, 0, 1n, KIND_PUT, body);
  assert.equal(readRecord(buf.subarray(0, buf.length - 1), 0), { ok: false, reason: 'short' });
  assert.equal(readRecord(Buffer.alloc(64), 0), { ok: false, reason: 'zero' });
});

rec('validRecordAfter finds the next LSN behind a damaged record', () => {
  const body = encodePutBody(Buffer.from('k'), Buffer.from('v'), 0);
  const n = RECORD_HEADER + body.length;
  const buf = Buffer.alloc(2 * n);
  writeRecord(buf, 0, 1n, KIND_PUT, body);
  writeRecord(buf, n, 2n, KIND_PUT, body);
  buf[5]! ^= 0xff; // length of record 1
  assert.ok(validRecordAfter(buf, 1, 2n));
  assert.not.ok(validRecordAfter(buf, n + 1, 3n));
});

rec('BATCH body round-trips puts and deletes in order', () => {
  const ops = [
    { type: 'put' as const, key: Buffer.from('a'), value: Buffer.from('1'), expiresAt: 0 },
    { type: 'del' as const, key: Buffer.from('b') },
  ];
  assert.equal(decodeBody(KIND_BATCH, encodeBatchBody(ops)), ops);
});

rec('a body with trailing bytes is refused', () => {
  const body = Buffer.concat([encodePutBody(Buffer.from('a'), Buffer.from('1'), 0), Buffer.from([0])]);
  assert.throws(() => decodeBody(KIND_PUT, body), /trailing/);
});

rec('an unknown required kind is refused', () => {
  assert.throws(() => decodeBody(9, Buffer.alloc(0)), /unsupported record kind/);
});

rec.run();

const files = suite('file names and control');

files('segment and snapshot names are 16 hex digits so name order is LSN order', () => {
  assert.is(segmentName(255n), '00000000000000ff.wal');
  assert.is(snapshotName(16n), 'snapshot-0000000000000010.snap');
  assert.ok(segmentName(9n) < segmentName(10n));
});

files('control round-trips and is 36 bytes', () => {
  const c = { catalogVersion: 3, redoLsn: 77n, checkpointTimeMs: 1_700_000_000_000 };
  const b = encodeControl(c);
  assert.is(b.length, CONTROL_SIZE);
  assert.equal(decodeControl(b), c);
});

files('control with a flipped byte is refused', () => {
  const b = encodeControl({ catalogVersion: 0, redoLsn: 5n, checkpointTimeMs: 0 });
  b[17]! ^= 1;
  assert.throws(() => decodeControl(b), /CRC/);
});

files.run();

/** The worked example in docs/on-disk-format.md: PUT "a" = "1", LSN 1, no expiry. */
const DOC_EXAMPLE_HEX = 'bf0bb39112000000010000000000000001010000000100000000000000000000006131';
