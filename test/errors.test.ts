import fs from 'node:fs';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ERRORS, KvError, type ErrorCode } from '../ts/errors.js';

const test = suite('error catalogue');
const doc = fs.readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
const documented = new Map([...doc.matchAll(/^\| `([A-Z_]+)` \| (\d{3}) \|/gm)].map((m) => [m[1]!, Number(m[2])]));

test('every code in ts/errors.ts is documented with its status', () => {
  for (const [code, { status }] of Object.entries(ERRORS)) assert.is(documented.get(code), status, code);
});

test('every documented code exists', () => {
  for (const code of documented.keys()) assert.ok(code in ERRORS, code);
});

test('codes are UPPER_SNAKE and client mistakes map to 4xx', () => {
  for (const code of Object.keys(ERRORS) as ErrorCode[]) {
    assert.match(code, /^[A-Z]+(_[A-Z]+)*$/);
    const e = new KvError(code);
    assert.is(e.status, ERRORS[code].status);
  }
  for (const c of ['INVALID_ARGUMENT', 'UNKNOWN_OPTION', 'KEY_TOO_LARGE', 'VALUE_TOO_LARGE', 'RESERVED_KEY', 'VERSION_MISMATCH'] as const) {
    assert.ok(ERRORS[c].status >= 400 && ERRORS[c].status < 500, c);
  }
});

test.run();
