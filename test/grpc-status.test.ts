/**
 * The gRPC contract that needs no server: every KvError code has a gRPC status (the one
 * table, ts/grpc/status.ts), survives the trip through the status details, and is documented
 * with that status in docs/grpc.md; the checked-in generated types are what the generator
 * makes from proto/ today.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Metadata, status as Status, type ServiceError } from '@grpc/grpc-js';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ERRORS, type ErrorCode, KvError } from '../ts/errors.js';
import { PROTO_FILES } from '../ts/grpc/proto.js';
import { DETAILS_KEY, FROM_GRPC_STATUS, GRPC_STATUS, errorCodeOf, fromServiceError, toServiceError } from '../ts/grpc/status.js';
import { repoRoot, tempDir } from './helpers.js';

const test = suite('gRPC status mapping');
const codes = Object.keys(ERRORS) as ErrorCode[];

test('every code in ts/errors.ts has a gRPC status, and the table has no other', () => {
  assert.equal(Object.keys(GRPC_STATUS).sort(), [...codes].sort());
  for (const code of codes) assert.type(Status[GRPC_STATUS[code]], 'string', code);
});

test('every code survives the trip through the status details; the status is the table\'s', () => {
  for (const code of codes) {
    const e = toServiceError(new KvError(code, `detail of ${code}`), code === 'RATE_LIMITED' ? 7 : undefined);
    assert.is(e.code, GRPC_STATUS[code], code);
    assert.ok(Buffer.isBuffer(e.metadata.get(DETAILS_KEY)[0]), code);
    const back = fromServiceError(Object.assign(new Error(e.details), { code: e.code, details: e.details, metadata: e.metadata }) as ServiceError);
    assert.ok(back instanceof KvError);
    assert.is(back.code, code);
    assert.is(back.message, `detail of ${code}`);
  }
  assert.equal(toServiceError(new KvError('RATE_LIMITED'), 7).metadata.get('retry-after'), ['7']);
});

test('a status without our details (grpc-js, a proxy) still maps to a code, for every gRPC status', () => {
  for (const s of Object.values(Status).filter((v): v is number => typeof v === 'number')) {
    const code = FROM_GRPC_STATUS[s as Status];
    assert.ok(code in ERRORS, `${Status[s]} → ${code}`);
    const back = fromServiceError(Object.assign(new Error('x'), { code: s, details: 'x', metadata: new Metadata() }) as ServiceError);
    assert.is(back.code, code);
  }
  // Details that are not a google.rpc.Status, or name another domain, are no code of ours.
  const junk = new Metadata();
  junk.set(DETAILS_KEY, Buffer.from([0xff, 0xff, 0xff]));
  assert.is(errorCodeOf(junk), undefined);
});

test('docs/grpc.md lists every code with its gRPC status', () => {
  const doc = fs.readFileSync(path.join(repoRoot, 'docs', 'grpc.md'), 'utf8');
  const rows = new Map([...doc.matchAll(/^\| `([A-Z_]+)` \| `([A-Z_]+)` \(\d+\) \|/gm)].map((m) => [m[1]!, m[2]!]));
  for (const code of codes) assert.is(rows.get(code), Status[GRPC_STATUS[code]], code);
  assert.is(rows.size, codes.length);
});

test.run();

const gen = suite('generated types');

gen('ts/grpc/generated is what scripts/gen-proto.mjs makes from proto/ now (run npm run gen:proto after editing a .proto)', () => {
  const out = tempDir('gen');
  const r = spawnSync(process.execPath, [path.join(repoRoot, 'scripts', 'gen-proto.mjs'), out], { cwd: repoRoot, encoding: 'utf8' });
  assert.is(r.status, 0, r.stderr);
  const list = (dir: string): string[] => fs.readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts')).sort();
  const checkedIn = path.join(repoRoot, 'ts', 'grpc', 'generated');
  assert.equal(list(out), list(checkedIn));
  for (const f of list(out)) assert.fixture(fs.readFileSync(path.join(checkedIn, f), 'utf8'), fs.readFileSync(path.join(out, f), 'utf8'), f);
});

gen('the generator and the loader read the same .proto files, and every file in proto/ is one of them', () => {
  const script = fs.readFileSync(path.join(repoRoot, 'scripts', 'gen-proto.mjs'), 'utf8');
  const listed = JSON.parse(/PROTO_FILES = (\[[^\]]*\])/.exec(script)![1]!.replace(/'/g, '"')) as string[];
  assert.equal(listed, [...PROTO_FILES]);
  const onDisk = fs.readdirSync(path.join(repoRoot, 'proto'), { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.proto')).sort();
  assert.equal(onDisk, [...PROTO_FILES].sort());
});

gen.run();
