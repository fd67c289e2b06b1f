/**
 * Paged scans against a sorted model, with system catalog keys (`_sys.*`, made by the real
 * AuthService, so they sit in the same engine) interleaved with the data keys (issue 13,
 * item 1): for every limit 1..N, both directions, with and without prefix / start / end,
 * the concatenation of the pages is exactly the model — through store.scan(), through
 * GET /v1/kv with its cursors (fastify inject, no port), and through `kvctl keys` online
 * and offline.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { AuthService, open, type ScanOptions, type Store } from '../ts/index.js';
import { loadConfig } from '../ts/server/config.js';
import { buildServer } from '../ts/server/server.js';
import { systemView } from '../ts/store/store.js';
import { showKey } from '../ts/cli/common.js';
import { KVCTL, runCli } from './cli-proc.js';
import { ENGINES, tempDir } from './helpers.js';

const PW = 'admin password 1234';

/** Data keys around every edge of the `_sys.` range ('_sys' and '_sys-' before it, '_sys/' just after). */
const DATA: Buffer[] = [
  'A', 'B1', 'Z', '_', '_a', '_sys', '_sys-', '_sys-x', '_sys/', '_sys/a', '_sys0', '_t', 'a', 'b', 'u1', 'u2', 'u3', 'zz',
].map((s) => Buffer.from(s)).concat([Buffer.from([0xff, 0x00])]);
/** Written with a TTL and expired before the scans: live for no scan. */
const EXPIRED = ['B2', 'u15', '_sys/b'].map((s) => Buffer.from(s));

interface Query {
  prefix?: string;
  start?: string;
  end?: string;
}
const QUERIES: Query[] = [
  {}, { prefix: '_' }, { prefix: '_sys' }, { prefix: 'u', start: 'u2' }, { start: 'B', end: 'u2' },
  { start: '_sys.', end: '_sys/a' }, { start: '_sys.users', end: 'b' }, { end: '_sys.zzz' }, { start: '_sys.zzz' },
];

const sorted = [...DATA].sort(Buffer.compare);
function model(q: Query, reverse: boolean): Buffer[] {
  const keys = sorted.filter((k) =>
    (q.prefix === undefined || k.subarray(0, Buffer.byteLength(q.prefix)).equals(Buffer.from(q.prefix))) &&
    (q.start === undefined || Buffer.compare(k, Buffer.from(q.start)) >= 0) &&
    (q.end === undefined || Buffer.compare(k, Buffer.from(q.end)) < 0));
  return reverse ? keys.reverse() : keys;
}

const hex = (keys: Buffer[]): string[] => keys.map((k) => k.toString('hex'));
const describe = (q: Query, limit: number, reverse: boolean): string => `${JSON.stringify(q)} limit ${limit}${reverse ? ' reverse' : ''}`;

/** Pages through store.scan() the way a caller resumes: from just after (or before) the last key seen. */
function storePages(db: Store, q: Query, limit: number, reverse: boolean): Buffer[][] {
  const pages: Buffer[][] = [];
  let last: Buffer | undefined;
  for (let n = 0; n <= DATA.length + 1; n++) {
    const o: ScanOptions = { ...q, limit, reverse };
    if (last && reverse) o.end = last;
    else if (last) o.start = Buffer.concat([last, Buffer.from([0])]);
    const page = [...db.scan(o)].map(([k]) => Buffer.from(k));
    pages.push(page);
    if (page.length < limit) return pages;
    last = page[page.length - 1];
  }
  throw new Error(`more than ${DATA.length + 2} pages for ${describe(q, limit, reverse)}`);
}

/** Puts DATA and EXPIRED, then makes catalog keys through the auth service; returns it and its admin's token. */
async function fill(db: Store, advance: (ms: number) => void): Promise<{ auth: AuthService; token: string }> {
  const auth = await AuthService.open(db);
  await auth.createFirstAdmin({ password: PW });
  await db.batch([...DATA.map((key) => ({ type: 'put' as const, key, value: `v:${key.toString('hex')}` }))]);
  await db.batch(EXPIRED.map((key) => ({ type: 'put' as const, key, value: 'x', ttlMs: 1000 })));
  await auth.createRole('r1', { permissions: [{ prefix: 'u', actions: ['read'] }] });
  await auth.createUser('bob', { roles: ['r1'] });
  for (const name of ['k1', 'k2', 'k3']) await auth.createApiKey('bob', { name });
  advance(2000);
  const { token } = await auth.login('admin', PW);
  const catalogKeys = [...systemView(db).scan()].length;
  assert.ok(catalogKeys >= 20, `only ${catalogKeys} catalog keys: the test would not interleave them`);
  return { auth, token };
}

for (const engine of ENGINES) {
  const test = suite(`scan [${engine}]`);
  let now = 1_700_000_000_000;
  let db: Store;
  let auth: AuthService;
  let token = '';
  test.before(async () => {
    db = await open({ dir: tempDir('scan'), engine, clock: () => now });
    ({ auth, token } = await fill(db, (ms) => void (now += ms)));
  });
  test.after(async () => {
    await auth.close();
    await db.close();
  });

  test('store.scan: every limit, both directions, every range: the pages concatenate to the sorted model', () => {
    for (const q of QUERIES) {
      for (const reverse of [false, true]) {
        const want = model(q, reverse);
        assert.equal(hex([...db.scan({ ...q, reverse })].map(([k]) => k)), hex(want), describe(q, Infinity, reverse));
        for (let limit = 1; limit <= DATA.length + 1; limit++) {
          const pages = storePages(db, q, limit, reverse);
          assert.equal(hex(pages.flat()), hex(want), describe(q, limit, reverse));
          assert.equal(hex(pages[0]!), hex(want.slice(0, limit)), `first page of ${describe(q, limit, reverse)}`);
        }
      }
    }
  });

  test('store.count and a scan that stops early agree with the model', () => {
    for (const q of QUERIES.filter((x) => x.start === undefined && x.end === undefined)) {
      assert.is(db.count(q.prefix), model(q, false).length, JSON.stringify(q));
    }
    const it = db.scan({ limit: 3 });
    assert.equal(hex([it.next().value![0]]), hex(sorted.slice(0, 1)));
    assert.ok(it.return(undefined).done);
  });

  test('GET /v1/kv: cursor pages for every limit, both directions, every range: concatenated, the sorted model', async () => {
    const { config } = loadConfig([], {});
    const server = await buildServer({ ...config, logLevel: 'silent' }, db, auth);
    try {
      for (const q of QUERIES) {
        for (const reverse of [false, true]) {
          const want = hex(model(q, reverse));
          for (let limit = 1; limit <= DATA.length + 1; limit++) {
            const got: string[] = [];
            let cursor: string | undefined;
            let n = 0;
            do {
              assert.ok(n++ <= DATA.length + 1, `too many pages for ${describe(q, limit, reverse)}`);
              const query: Record<string, string> = { ...q, limit: String(limit), ...(reverse ? { reverse: 'true' } : {}), ...(cursor ? { cursor } : {}) };
              const r = await server.app.inject({ method: 'GET', url: '/v1/kv', query, headers: { authorization: `Bearer ${token}` } });
              assert.is(r.statusCode, 200, r.body);
              const page = r.json<{ items: Array<{ key?: string; keyBase64?: string }>; cursor?: string }>();
              if (page.cursor) assert.is(page.items.length, limit, `a page with a cursor is full: ${describe(q, limit, reverse)}`);
              got.push(...page.items.map((it) => (it.key !== undefined ? Buffer.from(it.key) : Buffer.from(it.keyBase64!, 'base64')).toString('hex')));
              cursor = page.cursor;
            } while (cursor);
            assert.equal(got, want, describe(q, limit, reverse));
          }
        }
      }
    } finally {
      await server.app.close();
    }
  });

  test.run();
}

// kvctl pages GET /v1/kv 1,000 keys at a time: a first page with catalog keys in it must not end the listing.
const ktest = suite(`kvctl keys [${ENGINES[0]}]`);
ktest('lists every key online and offline when catalog keys fall in its first page', async () => {
  let now = 1_700_000_000_000;
  const dir = tempDir('scan-kvctl');
  const db = await open({ dir, engine: ENGINES[0]!, clock: () => now });
  const { auth, token } = await fill(db, (ms) => void (now += ms));
  const many = Array.from({ length: 1100 }, (_, i) => `a${String(i).padStart(4, '0')}`);
  await db.batch(many.slice(0, 1000).map((key) => ({ type: 'put' as const, key, value: '1' })));
  await db.batch(many.slice(1000).map((key) => ({ type: 'put' as const, key, value: '1' })));
  const want = [...DATA, ...many.map((k) => Buffer.from(k))].sort(Buffer.compare).map(showKey);
  const { config } = loadConfig([], {});
  const server = await buildServer({ ...config, logLevel: 'silent' }, db, auth);
  let online: string[];
  let prefixed: string[];
  try {
    const url = await server.app.listen({ host: '127.0.0.1', port: 0 });
    const env = { KVCTL_URL: url, KVCTL_TOKEN: token, KVCTL_CONFIG_DIR: tempDir('scan-kvctl-cfg') };
    const r = await runCli(KVCTL, ['keys', '--format=json'], { env });
    assert.is(r.code, 0, r.stderr);
    online = JSON.parse(r.stdout) as string[];
    const p = await runCli(KVCTL, ['keys', '--pattern', 'a1*', '--format=json'], { env });
    assert.is(p.code, 0, p.stderr);
    prefixed = JSON.parse(p.stdout) as string[];
  } finally {
    await server.app.close();
    await auth.close();
    await db.close();
  }
  assert.equal(online, want);
  assert.equal(prefixed, many.filter((k) => k.startsWith('a1')));
  const off = await runCli(KVCTL, ['--data-dir', dir, '--engine', ENGINES[0]!, 'keys', '--format=json'], { env: { KVCTL_CONFIG_DIR: tempDir('scan-kvctl-cfg') } });
  assert.is(off.code, 0, off.stderr);
  assert.equal(JSON.parse(off.stdout), want);
});
ktest.run();
