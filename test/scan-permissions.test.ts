/**
 * Scans filtered by permission (docs/auth.md, "Scans"), on both engines, through GET /v1/kv
 * and the gRPC Scan: a caller whose grants cover several disjoint parts of a scanned prefix
 * sees exactly the keys it may read, paged with every small limit in both directions and
 * compared with a model written here (not derived from the server's code); a page with a
 * cursor is full and its cursor is the last key shown; hidden keys never appear, by name or
 * by count, and adding or removing them changes no response byte; `_sys.` never appears; a
 * range no grant meets is refused (403 / PERMISSION_DENIED) whether or not it holds keys.
 */
import * as grpc from '@grpc/grpc-js';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { AuthService, open, type Store } from '../ts/index.js';
import { loadKvstoreProto } from '../ts/grpc/proto.js';
import { errorCodeOf } from '../ts/grpc/status.js';
import { loadConfig } from '../ts/server/config.js';
import { type RunningGrpc, startGrpcServer } from '../ts/server/grpc-server.js';
import { type BuiltServer, buildServer } from '../ts/server/server.js';
import { intersect } from '../ts/auth/grants.js';
import { prefixesInRange } from '../ts/server/scan-page.js';
import { ENGINES, tempDir } from './helpers.js';

const { proto } = loadKvstoreProto();
type GrpcClient = grpc.Client & Record<string, (...a: unknown[]) => unknown>;

/** ann's grants, as the model knows them: prefix → actions. Roles `split` and `more` (ann is in both). */
const SPLIT = [
  { prefix: 'app/a/', actions: ['scan', 'read'] },
  { prefix: 'app/c/', actions: ['scan', 'read'] },
  { prefix: 'app/b/', actions: ['scan'] }, // keys listed, values not: hidden from a scan with values
  { prefix: 'app/d/', actions: ['read'] }, // no scan: hidden from every scan
  { prefix: '_', actions: ['scan', 'read'] }, // reaches the `_sys.` range by its prefix: catalog keys must still never appear
] as const;
const MORE = [{ prefix: 'app/e', actions: ['scan', 'read'] }] as const; // through a second role; covers app/e1, app/e/…, not app/f
const GRANTS = [...SPLIT, ...MORE];

const VISIBLE_BASE = ['app/a/0', 'app/a/1', 'app/a/2', 'app/a/3', 'app/a/\u00e9t\u00e9', 'app/b/0', 'app/b/1', 'app/c/0', 'app/c/1', 'app/c/2', 'app/e', 'app/e/0', 'app/e1', '_data/0', '_data/1'];
/** Keys ann may never scan; each name carries HIDDEN so a leak in any body is found by a substring search. */
const HIDDEN = ['app/HIDDEN-0', 'app/a-HIDDEN', 'app/aHIDDEN/0', 'app/d/HIDDEN-0', 'app/d/HIDDEN-1', 'app/f/HIDDEN', 'app/HIDDEN-z', 'other/HIDDEN', 'HIDDEN-top'];
/** More hidden keys, added and removed between runs: no response may change. */
const NOISE = Array.from({ length: 60 }, (_, i) => [`app/HIDDEN-n${i}`, `app/b0HIDDEN-${i}`, `app/d/HIDDEN-n${i}`][i % 3]!);

interface Query { prefix?: string; start?: string; end?: string }
const QUERIES: Query[] = [
  { prefix: 'app/' }, { prefix: 'app/a' }, { prefix: '' }, {}, { prefix: '_' }, { prefix: 'app/e' },
  { start: 'app/a/2', end: 'app/c/1' }, { start: 'app/', end: 'app/z' }, { start: 'app/b/1', end: 'app/e1' },
];

const may = (key: string, actions: readonly string[]): boolean =>
  !key.startsWith('_sys.') && actions.every((a) => GRANTS.some((g) => key.startsWith(g.prefix) && (g.actions as readonly string[]).includes(a)));

/** What ann's scan should return: the model's keys in the range, byte order, that she may see. */
function model(keys: readonly string[], q: Query, values: boolean, reverse: boolean): string[] {
  const b = (s: string): Buffer => Buffer.from(s);
  const out = keys.filter((k) => {
    const kb = b(k);
    if (q.prefix !== undefined && !k.startsWith(q.prefix)) return false;
    if (q.start !== undefined && Buffer.compare(kb, b(q.start)) < 0) return false;
    if (q.end !== undefined && Buffer.compare(kb, b(q.end)) >= 0) return false;
    return may(k, values ? ['scan', 'read'] : ['scan']);
  }).sort((x, y) => Buffer.compare(b(x), b(y)));
  return reverse ? out.reverse() : out;
}

interface Page { keys: string[]; cursor: string | undefined; body: string }
type Pager = (q: Query, limit: number, values: boolean, reverse: boolean, cursor: string | undefined) => Promise<Page>;

for (const engine of ENGINES) {
  const test = suite(`scan filtered by permission [${engine}]`);
  let db: Store;
  let auth: AuthService;
  let server: BuiltServer;
  let rpc: RunningGrpc;
  let kv: GrpcClient;
  let ann: string;
  let narrow: string;

  test.before(async () => {
    db = await open({ dir: tempDir('scanperm'), engine });
    auth = await AuthService.open(db);
    await auth.createFirstAdmin({ password: 'admin password 1234' });
    await auth.createRole('split', { permissions: SPLIT.map((g) => ({ prefix: g.prefix, actions: [...g.actions] })) });
    await auth.createRole('more', { permissions: MORE.map((g) => ({ prefix: g.prefix, actions: [...g.actions] })) });
    await auth.createUser('ann', { password: 'ann password 12345', roles: ['split', 'more'] });
    await auth.createRole('elsewhere', { permissions: [{ prefix: 'other/', actions: ['scan', 'read'] }] });
    await auth.createUser('oz', { password: 'oz password 123456', roles: ['elsewhere'] });
    for (const k of [...VISIBLE_BASE, ...HIDDEN]) await db.put(k, `v:${k}`);
    ann = (await auth.login('ann', 'ann password 12345')).token;
    narrow = (await auth.login('oz', 'oz password 123456')).token;
    const { config } = loadConfig([], {});
    server = await buildServer({ ...config, logLevel: 'silent' }, db, auth);
    rpc = await startGrpcServer({ ...config, logLevel: 'silent' }, 0, { store: db, auth, metrics: server.metrics, limits: server.limits, log: server.app.log });
    kv = new proto.kvstore.v1.KV(`127.0.0.1:${rpc.port}`, grpc.credentials.createInsecure()) as unknown as GrpcClient;
  });
  test.after(async () => {
    kv?.close();
    await rpc?.close(0);
    await server?.app.close();
    await auth?.close();
    await db?.close();
  });

  const http = (token: string): Pager => async (q, limit, values, reverse, cursor) => {
    const query: Record<string, string> = { ...q, limit: String(limit), ...(values ? { values: 'true' } : {}), ...(reverse ? { reverse: 'true' } : {}), ...(cursor !== undefined ? { cursor } : {}) };
    const r = await server.app.inject({ method: 'GET', url: '/v1/kv', query, headers: { authorization: `Bearer ${token}` } });
    if (r.statusCode !== 200) throw Object.assign(new Error(`${r.statusCode} ${r.body}`), { status: r.statusCode, code: (r.json() as { code?: string }).code });
    const page = r.json<{ items: Array<{ key?: string; keyBase64?: string; value?: string }>; cursor?: string }>();
    assert.equal(Object.keys(page).filter((k) => k !== 'items' && k !== 'cursor'), [], 'a page has items and a cursor, no counts');
    for (const it of page.items) if (values) assert.is(Buffer.from(it.value!, 'base64').toString(), `v:${it.key}`);
    return { keys: page.items.map((it) => it.key ?? Buffer.from(it.keyBase64!, 'base64').toString()), cursor: page.cursor, body: r.body };
  };

  const viaGrpc = (token: string): Pager => (q, limit, values, reverse, cursor) => new Promise((resolve, reject) => {
    const md = new grpc.Metadata();
    md.add('authorization', `Bearer ${token}`);
    const req = { ...(q.prefix !== undefined ? { prefix: Buffer.from(q.prefix) } : {}), ...(q.start !== undefined ? { start: Buffer.from(q.start) } : {}), ...(q.end !== undefined ? { end: Buffer.from(q.end) } : {}), limit, reverse, keysOnly: !values, cursor: cursor === undefined ? Buffer.alloc(0) : Buffer.from(cursor, 'base64url') };
    kv.Scan!(req, md, { deadline: Date.now() + 10_000 }, (err: grpc.ServiceError | null, res: { items: Array<{ key: Buffer; value: Buffer }>; cursor: Buffer }) => {
      if (err) return reject(Object.assign(new Error(err.message), { status: err.code, code: errorCodeOf(err.metadata) }));
      for (const it of res.items) if (values) assert.is(it.value.toString(), `v:${it.key.toString()}`);
      const body = JSON.stringify({ items: res.items.map((it) => [it.key.toString(), it.value.toString()]), cursor: res.cursor.toString() });
      resolve({ keys: res.items.map((it) => it.key.toString()), cursor: res.cursor.length > 0 ? res.cursor.toString('base64url') : undefined, body });
    });
  });

  /** Every page of one scan: checks each page's shape, returns the keys and the raw bodies. */
  async function pages(pager: Pager, q: Query, limit: number, values: boolean, reverse: boolean): Promise<{ keys: string[]; bodies: string[] }> {
    const keys: string[] = [];
    const bodies: string[] = [];
    let cursor: string | undefined;
    for (let n = 0; ; n++) {
      assert.ok(n <= VISIBLE_BASE.length + 1, 'a scan ends within (visible keys + 1) pages');
      const page = await pager(q, limit, values, reverse, cursor);
      bodies.push(page.body);
      keys.push(...page.keys);
      if (page.cursor === undefined) break;
      assert.is(page.keys.length, limit, 'a page with a cursor is full: hidden keys do not make pages short');
      assert.is(Buffer.from(page.cursor, 'base64url').toString(), page.keys[page.keys.length - 1], 'the cursor is the last key shown');
      cursor = page.cursor;
    }
    return { keys, bodies };
  }

  async function everyScan(pager: Pager): Promise<string[]> {
    const all: string[] = [];
    for (const q of QUERIES) {
      for (const values of [false, true]) {
        for (const reverse of [false, true]) {
          const want = model([...VISIBLE_BASE, ...HIDDEN], q, values, reverse);
          for (const limit of [1, 2, 3, 5, 8, 100]) {
            const { keys, bodies } = await pages(pager, q, limit, values, reverse);
            const what = `${JSON.stringify(q)} limit ${limit}${values ? ' values' : ''}${reverse ? ' reverse' : ''}`;
            assert.equal(keys, want, what);
            for (const body of bodies) {
              assert.not.match(body, /HIDDEN/, `no hidden key in ${what}`);
              assert.not.match(body, /_sys\./, `no catalog key in ${what}`);
            }
            all.push(...bodies);
          }
        }
      }
    }
    return all;
  }

  test('the model agrees with authorize() key by key (the predicate a watch filters with)', async () => {
    const p = await auth.verifyToken(ann);
    for (const k of [...VISIBLE_BASE, ...HIDDEN, ...NOISE, '_sys.users:ann']) {
      for (const actions of [['scan'], ['scan', 'read']] as const) {
        assert.is(actions.every((a) => auth.authorize(p, a, k).allow), may(k, actions), `${k} ${actions.join('+')}`);
      }
    }
    assert.ok(VISIBLE_BASE.every((k) => may(k, ['scan'])) && HIDDEN.every((k) => !may(k, ['scan'])) && NOISE.every((k) => !may(k, ['scan'])), 'the fixture means what it says');
  });

  for (const [name, make] of [['GET /v1/kv', http], ['gRPC Scan', viaGrpc]] as const) {
    test(`${name}: several grants over one prefix, every limit and direction, equal to the model; adding or removing hidden keys changes no byte`, async () => {
      const before = await everyScan(make(ann));
      await db.batch(NOISE.map((key) => ({ type: 'put' as const, key, value: 'noise' })));
      const during = await everyScan(make(ann));
      await db.batch([...NOISE, ...HIDDEN].map((key) => ({ type: 'del' as const, key })));
      const after = await everyScan(make(ann));
      for (const k of HIDDEN) await db.put(k, `v:${k}`);
      assert.equal(during, before, 'hidden keys added: every page is byte for byte what it was');
      assert.equal(after, before, 'hidden keys removed: every page is byte for byte what it was');
    });

    test(`${name}: a range no grant meets is refused the same whether it holds keys or not; _sys. is refused`, async () => {
      const refused = async (token: string, q: Query, values: boolean): Promise<string> => {
        try {
          await make(token)(q, 10, values, false, undefined);
          return 'allowed';
        } catch (err) {
          return String((err as { code?: string }).code);
        }
      };
      assert.is(await refused(ann, { prefix: 'other/' }, false), 'PERMISSION_DENIED', 'other/ holds a key');
      assert.is(await refused(ann, { prefix: 'nothing-here/' }, false), 'PERMISSION_DENIED', 'an empty range, refused the same');
      assert.is(await refused(ann, { prefix: 'app/d/' }, false), 'PERMISSION_DENIED', 'read but no scan');
      assert.is(await refused(ann, { prefix: 'app/b/' }, true), 'PERMISSION_DENIED', 'scan but no read, with values');
      assert.is(await refused(ann, { start: 'app/c0', end: 'app/d/z' }, false), 'PERMISSION_DENIED', 'a range between two grants');
      assert.is(await refused(ann, { prefix: '_sys.' }, false), 'PERMISSION_DENIED', 'the catalog, though _ is granted');
      assert.is(await refused(narrow, { prefix: 'app/' }, false), 'PERMISSION_DENIED');
      assert.equal((await make(narrow)({ prefix: '' }, 10, true, false, undefined)).keys, ['other/HIDDEN'], 'a scan of everything: only its own prefix');
    });

    test(`${name}: a cursor past the last visible key, or one naming a hidden key, pages on without showing it`, async () => {
      const p = await make(ann)({ prefix: 'app/' }, 10, false, false, Buffer.from('app/c/2').toString('base64url'));
      assert.equal(p.keys, ['app/e', 'app/e/0', 'app/e1']);
      assert.is(p.cursor, undefined);
      const q = await make(ann)({ prefix: 'app/' }, 2, false, false, Buffer.from('app/HIDDEN-0').toString('base64url'));
      assert.equal(q.keys, ['app/a/0', 'app/a/1'], 'the same page as after any key between app/ and app/a/');
      const r = await make(ann)({ prefix: 'app/' }, 2, false, false, Buffer.from('app/e1').toString('base64url'));
      assert.equal(r, { keys: [], cursor: undefined, body: r.body }, 'after the last visible key: an empty last page, not a refusal');
    });
  }

  test('AuthService.authorizeScan, embedded: the granted prefixes under a scope, per action set; refusals; a locked user is invalid', async () => {
    const p = await auth.verifyToken(ann);
    const str = (d: { prefixes?: Buffer[] }): string[] | undefined => d.prefixes?.map((b) => b.toString());
    assert.equal(str(auth.authorizeScan(p, ['scan'], 'app/')), ['app/a/', 'app/b/', 'app/c/', 'app/e']);
    assert.equal(str(auth.authorizeScan(p, ['scan', 'read'], 'app/')), ['app/a/', 'app/c/', 'app/e']);
    assert.equal(str(auth.authorizeScan(p, ['scan'], 'app/a/1')), ['app/a/1'], 'a scope inside a grant is itself');
    assert.equal(str(auth.authorizeScan(p, ['scan'], '')), ['_', 'app/a/', 'app/b/', 'app/c/', 'app/e']);
    for (const [actions, scope] of [[['scan'], 'app/d/'], [['read', 'scan'], 'app/b/'], [['scan'], '_sys.'], [['scan'], 'zzz']] as const) {
      const d = auth.authorizeScan(p, actions, scope);
      assert.equal([d.allow, d.prefixes, d.invalid], [false, undefined, undefined], `${actions.join('+')} ${scope}`);
    }
    assert.equal(auth.authorizeScan(null, ['scan'], '').invalid, true);
    await auth.createUser('lee', { password: 'lee password 123456', roles: ['split'] });
    const lee = await auth.verifyToken((await auth.login('lee', 'lee password 123456')).token);
    assert.is(auth.authorizeScan(lee, ['scan'], 'app/').allow, true);
    await auth.lockUser('lee', 'test');
    assert.equal([auth.authorizeScan(lee, ['scan'], 'app/').allow, auth.authorizeScan(lee, ['scan'], 'app/').invalid], [false, true]);
  });

  test('an API key scans with its own roles: the subset it was given, filtered the same way', async () => {
    const { token } = await auth.createApiKey('ann', { name: 'e-only', roles: ['more'] });
    const r = await server.app.inject({ method: 'GET', url: '/v1/kv', query: { prefix: 'app/', values: 'true' }, headers: { 'x-api-key': token } });
    assert.is(r.statusCode, 200, r.body);
    assert.equal(r.json<{ items: Array<{ key: string }> }>().items.map((it) => it.key), ['app/e', 'app/e/0', 'app/e1']);
    const refused = await server.app.inject({ method: 'GET', url: '/v1/kv', query: { prefix: 'app/a/' }, headers: { 'x-api-key': token } });
    assert.is(refused.statusCode, 403, 'app/a/ is granted to ann, not to this key');
  });

  test('gRPC Watch refuses a range no read grant meets, as GET /v1/watch does; a range it meets streams', async () => {
    const watch = (prefix: string): Promise<{ first?: unknown; status: number; code: string | undefined }> => new Promise((resolve) => {
      const md = new grpc.Metadata();
      md.add('authorization', `Bearer ${ann}`);
      const stream = (kv.Watch as (r: unknown, m: grpc.Metadata) => grpc.ClientReadableStream<unknown>)({ prefix: Buffer.from(prefix) }, md);
      const timer = setTimeout(() => stream.cancel(), 5_000);
      stream.once('data', (d: unknown) => (clearTimeout(timer), stream.cancel(), resolve({ first: d, status: 0, code: undefined })));
      stream.once('error', (err: grpc.ServiceError) => (clearTimeout(timer), resolve({ status: err.code, code: errorCodeOf(err.metadata) })));
    });
    const denied = await watch('other/');
    assert.equal([denied.status, denied.code], [grpc.status.PERMISSION_DENIED, 'PERMISSION_DENIED']);
    assert.ok((await watch('app/')).first !== undefined, 'ann reads under app/a/: the watch starts');
    const r = await server.app.inject({ method: 'GET', url: '/v1/watch', query: { prefix: 'other/' }, headers: { authorization: `Bearer ${ann}` } });
    assert.is(r.statusCode, 403, 'the HTTP watch, the same');
  });

  test.run();
}

// The merge that intersects two grant lists, against the obvious quadratic definition on random
// prefix-free lists over a small alphabet (so prefixes often extend each other).
const merge = suite('intersect (grant lists)');
/** mulberry32: a seeded generator, so a failure repeats; rand(n) is 0..n-1. */
function prng(seed: number): (n: number) => number {
  let a = seed >>> 0;
  return (n) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return (((t ^ (t >>> 14)) >>> 0) % n);
  };
}
merge('equals the pairwise definition on 2,000 random pairs of sorted, prefix-free lists', () => {
  const rand = prng(19);
  const list = (): string[] => {
    const all = [...new Set(Array.from({ length: rand(8) }, () => Array.from({ length: rand(4) }, () => 'ab\u00ff'[rand(3)]).join('')))].sort();
    return all.filter((p) => !all.some((q) => q !== p && p.startsWith(q)));
  };
  for (let n = 0; n < 2000; n++) {
    const a = list();
    const b = list();
    const want = [...new Set(a.flatMap((x) => b.flatMap((y) => (y.startsWith(x) ? [y] : x.startsWith(y) ? [x] : []))))].sort();
    assert.equal(intersect(a, b), want, `${JSON.stringify(a)} ∩ ${JSON.stringify(b)}`);
  }
});
merge('prefixesInRange (binary search) equals a linear filter, on 2,000 random lists and ranges with 0xff bytes and empty prefixes', () => {
  const rand = prng(7);
  const bytes = (): Buffer => Buffer.from(Array.from({ length: rand(4) }, () => [0x61, 0x62, 0xff][rand(3)]!));
  const end = (p: Buffer): Buffer | null => {
    let n = p.length;
    while (n > 0 && p[n - 1] === 0xff) n--;
    return n === 0 ? null : Buffer.concat([p.subarray(0, n - 1), Buffer.from([p[n - 1]! + 1])]);
  };
  for (let n = 0; n < 2000; n++) {
    const all = [...new Map(Array.from({ length: rand(7) }, () => bytes()).map((b) => [b.toString('hex'), b])).values()].sort(Buffer.compare);
    const within = all.filter((p) => !all.some((q) => !q.equals(p) && p.subarray(0, q.length).equals(q)));
    const q = { ...(rand(2) ? { start: bytes() } : {}), ...(rand(2) ? { end: bytes() } : {}), ...(rand(3) === 0 ? { prefix: bytes() } : {}), ...(rand(2) ? { after: bytes() } : {}), reverse: rand(2) === 1 };
    // The range in full, [lo, hi): the largest of start, prefix and the key after the cursor; the smallest of end, the prefix's end and the cursor (reverse).
    const max = (xs: Array<Buffer | undefined>): Buffer | undefined => xs.filter((x): x is Buffer => x !== undefined && x.length > 0).sort(Buffer.compare).pop();
    const min = (xs: Array<Buffer | null | undefined>): Buffer | undefined => xs.filter((x): x is Buffer => x !== undefined && x !== null && x.length > 0).sort(Buffer.compare)[0];
    const lo = max([q.start, q.prefix, q.after !== undefined && !q.reverse ? Buffer.concat([q.after, Buffer.from([0])]) : undefined]);
    const hi = min([q.end, q.prefix !== undefined && q.prefix.length > 0 ? end(q.prefix) : undefined, q.reverse ? q.after : undefined]);
    // A prefix's keys are [p, end(p)): they meet [lo, hi) when p < hi and end(p) > lo.
    const want = within.filter((p) => (hi === undefined || Buffer.compare(p, hi) < 0) && (lo === undefined || end(p) === null || Buffer.compare(end(p)!, lo) > 0));
    const got = [...prefixesInRange(within, q)];
    assert.equal(got.map((b) => b.toString('hex')), (q.reverse ? want.reverse() : want).map((b) => b.toString('hex')), JSON.stringify({ within: within.map((b) => b.toString('hex')), q }));
  }
});
merge.run();
