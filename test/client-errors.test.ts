/**
 * Every error is a problem document, those made before routing included: bytes Node's HTTP
 * parser refuses (clientErrorHandler), a path the router cannot decode (frameworkErrors), a
 * body too large, not JSON, or of a content type the route does not take. Sent as raw bytes
 * on a socket (what a broken client or a scanner sends) and, where fetch can send it, by fetch.
 * After each, the server still answers.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { type Harness, type RawResponse, rawRequest, startHarness } from './http-harness.js';

const test = suite('client errors');
let h: Harness;
test.before(async () => {
  h = await startHarness({ bodyLimit: 4096 });
});
test.after(async () => {
  await h?.close();
});

function isProblem(r: { status: number; contentType: string | undefined; requestId: string | undefined; body: string }, status: number, code: string): void {
  assert.is(r.status, status, r.body);
  assert.is(r.contentType, 'application/problem+json; charset=utf-8', r.body);
  const p = JSON.parse(r.body) as Record<string, unknown>;
  assert.is(p.code, code, r.body);
  assert.is(p.status, status);
  assert.is(p.type, `urn:kvstore:error:${code}`);
  assert.type(p.title, 'string');
  assert.type(p.detail, 'string');
  assert.ok(typeof p.instance === 'string' && p.instance.length > 0);
  assert.is(p.instance, r.requestId, 'the instance is the x-request-id');
}
const rawProblem = (r: RawResponse, status: number, code: string): void =>
  isProblem({ status: r.status, contentType: r.headers['content-type'], requestId: r.headers['x-request-id'], body: r.body }, status, code);
async function fetchProblem(r: Response, status: number, code: string): Promise<void> {
  isProblem({ status: r.status, contentType: r.headers.get('content-type') ?? undefined, requestId: r.headers.get('x-request-id') ?? undefined, body: await r.text() }, status, code);
}

const CASES: { name: string; bytes: string; status: number; code: string }[] = [
  { name: 'a broken request line (no HTTP version)', bytes: 'GET /health JUNK\r\n\r\n', status: 400, code: 'MALFORMED_REQUEST' },
  { name: 'an HTTP version that does not exist', bytes: 'GET /health HTTP/9.9\r\nHost: x\r\n\r\n', status: 400, code: 'MALFORMED_REQUEST' },
  { name: 'an unknown method', bytes: 'FROB /v1/kv/a HTTP/1.1\r\nHost: x\r\n\r\n', status: 405, code: 'METHOD_NOT_ALLOWED' },
  { name: 'headers past the size limit', bytes: `GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`, status: 431, code: 'HEADERS_TOO_LARGE' },
  { name: 'a header line without a colon', bytes: 'GET /health HTTP/1.1\r\nHost x\r\n\r\n', status: 400, code: 'MALFORMED_REQUEST' },
  { name: 'a Content-Length that is not a number', bytes: 'POST /v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: abc\r\n\r\n', status: 400, code: 'MALFORMED_REQUEST' },
  { name: 'a broken chunk size', bytes: 'POST /v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\n', status: 400, code: 'MALFORMED_REQUEST' },
  { name: 'bad percent-encoding in the path (%FF)', bytes: 'GET /v1/kv/%FF HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', status: 400, code: 'INVALID_ARGUMENT' },
  { name: 'bad percent-encoding in the path (%zz)', bytes: 'GET /v1/kv/%zz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', status: 400, code: 'INVALID_ARGUMENT' },
  {
    name: 'a body larger than body_limit',
    bytes: `POST /v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: 5000\r\n\r\n${'a'.repeat(5000)}`,
    status: 413, code: 'VALUE_TOO_LARGE',
  },
  { name: 'a body that is not JSON', bytes: 'POST /v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: 3\r\n\r\n{x}', status: 400, code: 'INVALID_ARGUMENT' },
  { name: 'a content type the route does not take', bytes: 'POST /v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\nConnection: close\r\nContent-Length: 3\r\n\r\n<a>', status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
  { name: 'a route that does not exist', bytes: 'GET /nowhere HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', status: 404, code: 'NOT_FOUND' },
];

for (const c of CASES) {
  test(`raw socket: ${c.name} → ${c.status} ${c.code} as application/problem+json`, async () => {
    const r = await rawRequest(h.port, c.bytes);
    rawProblem(r, c.status, c.code);
    assert.not.match(r.body, 'a'.repeat(100), 'the request bytes are not echoed');
    const health = await fetch(`${h.url}/health`);
    assert.is(health.status, 200, 'the server keeps serving');
  });
}

test('a parser error in a pipelined request: one well-formed response, then the connection is closed', async () => {
  const r = await rawRequest(h.port, 'GET /health HTTP/1.1\r\nHost: x\r\n\r\nFROB / HTTP/1.1\r\n\r\n');
  // The second request's error is found while the first is still being handled (its response
  // not begun), so, as Node does, the error is what is answered; never two interleaved responses.
  rawProblem(r, 405, 'METHOD_NOT_ALLOWED');
  assert.ok(r.closed);
  assert.not.match(r.body, 'HTTP/1.1');
});

test('fetch: bad percent-encoding, body too large, not JSON, wrong content type', async () => {
  await fetchProblem(await fetch(`${h.url}/v1/kv/%FF`, { headers: { authorization: `Bearer ${h.admin}` } }), 400, 'INVALID_ARGUMENT');
  await fetchProblem(await fetch(`${h.url}/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'admin', password: 'x'.repeat(8000) }) }), 413, 'VALUE_TOO_LARGE');
  await fetchProblem(await fetch(`${h.url}/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name":' }), 400, 'INVALID_ARGUMENT');
  await fetchProblem(await fetch(`${h.url}/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'hi' }), 415, 'UNSUPPORTED_MEDIA_TYPE');
  await fetchProblem(await fetch(`${h.url}/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '' }), 400, 'INVALID_ARGUMENT');
});

test.run();
