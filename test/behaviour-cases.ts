/**
 * One table of behaviour cases for every entry point: the embedded store, the client over
 * HTTP and the client over gRPC (test/client-behaviour.test.ts runs each case on each and
 * requires the exact expected observation from all three). A case returns an observation
 * made of plain values — never a raw version, since LSNs differ between back ends, but what
 * must hold of versions (equal, growing) — or the error code it ended with.
 */
import type { Entry, Key, ScanOptions, Value } from '../ts/index.js';
import type { BatchOperation, DeleteOptions, PutOptions } from '../ts/store/store.js';
import type { WhoAmI } from '../ts/client/index.js';
import type { TxnRequest, TxnResponse, WatchEvent, WatchOptions, WatchRange } from '../ts/index.js';

/** What both the embedded Store and a KvClient offer (reads may be sync or async). */
export interface Kv {
  get(key: Key): Promise<Buffer | undefined> | Buffer | undefined;
  getEntry(key: Key): Promise<Entry | undefined> | Entry | undefined;
  put(key: Key, value: Value, options?: PutOptions): Promise<{ version: bigint }>;
  delete(key: Key, options?: DeleteOptions): Promise<{ deleted: boolean }>;
  incr(key: Key, by?: bigint): Promise<bigint>;
  batch(ops: readonly BatchOperation[]): Promise<{ version: bigint }>;
  scan(options?: ScanOptions): AsyncIterable<[Buffer, Buffer]> | Iterable<[Buffer, Buffer]>;
  txn(request: TxnRequest): Promise<TxnResponse>;
  watch(range: WatchRange & WatchOptions, options?: WatchOptions): AsyncIterable<WatchEvent> & { close(): void };
}

/** A remote client's extras, for the cases that only a server has (credentials, RBAC). */
export interface RemoteKv extends Kv {
  whoami(): Promise<WhoAmI>;
}

export type Backend = 'embedded' | 'http' | 'grpc';

export interface CaseContext {
  /** A key under this case's own prefix on this back end. */
  k(suffix: string): string;
  /** Remote cases: a client with other credentials (closed by the runner). */
  as?(credential: 'reader' | 'readerKey' | 'badToken' | 'badKey' | 'none'): RemoteKv;
}

export interface Case {
  name: string;
  run(kv: Kv, ctx: CaseContext): Promise<unknown>;
  expect: unknown;
  /** Only these back ends (the others have no such notion). Default: all three. */
  only?: Backend[];
}

/** The code of the KvError `fn` throws or rejects with; 'no error' if none. */
export async function codeOf(fn: () => unknown): Promise<string> {
  try {
    await fn();
    return 'no error';
  } catch (err) {
    return String((err as { code?: unknown }).code);
  }
}

const str = (b: Buffer | undefined): string | undefined => b?.toString('utf8');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function keys(kv: Kv, o: ScanOptions, strip: string): Promise<string[]> {
  const out: string[] = [];
  for await (const [key] of kv.scan(o)) {
    out.push(key.toString('utf8').slice(strip.length));
    if (out.length > 10_000) throw new Error('scan does not end');
  }
  return out;
}

async function fill(kv: Kv, ctx: CaseContext, n: number): Promise<void> {
  await kv.batch(Array.from({ length: n }, (_, i) => ({ type: 'put' as const, key: ctx.k(`s/${String(i).padStart(2, '0')}`), value: `v${i}` })));
}

/** The first n events of a watch (then closes it); fails after ms. */
async function events(w: AsyncIterable<WatchEvent> & { close(): void }, n: number, ms = 10_000): Promise<WatchEvent[]> {
  const out: WatchEvent[] = [];
  const it = w[Symbol.asyncIterator]();
  let t: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((r) => (t = setTimeout(() => r('late'), ms)));
  try {
    while (out.length < n) {
      const r = await Promise.race([it.next(), late]);
      if (r === 'late') throw new Error(`only ${out.length} of ${n} events in ${ms} ms`);
      if (r.done) break;
      out.push(r.value);
    }
  } finally {
    clearTimeout(t);
    w.close();
  }
  return out;
}

/** A watch of `prefix` from the version after a marker write: every later write is in it, on every back end. */
async function watchFromNow(kv: Kv, range: WatchRange, marker: string): Promise<AsyncIterable<WatchEvent> & { close(): void }> {
  const { version } = await kv.put(marker, 'm');
  return kv.watch(range, { fromVersion: version + 1n });
}

const ev = (e: WatchEvent, strip: string): [string, string, string | undefined] => [e.type, e.key.toString().slice(strip.length), e.value?.toString()];

const list = (from: number, to: number): string[] => Array.from({ length: to - from }, (_, i) => `s/${String(from + i).padStart(2, '0')}`);

export const CASES: Case[] = [
  // ------------------------------------------------------------ put / get / delete
  { name: 'put then get returns the value', expect: 'v1', run: async (kv, { k }) => (await kv.put(k('a'), 'v1'), str(await kv.get(k('a')))) },
  { name: 'get of an absent key is undefined', expect: { get: undefined, entry: undefined }, run: async (kv, { k }) => ({ get: await kv.get(k('none')), entry: await kv.getEntry(k('none')) }) },
  {
    name: 'binary values round-trip byte for byte', expect: 256,
    run: async (kv, { k }) => {
      const v = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
      await kv.put(k('bin'), v);
      return (await kv.get(k('bin')))!.equals(v) ? 256 : -1;
    },
  },
  { name: 'an empty value is a value', expect: '', run: async (kv, { k }) => (await kv.put(k('e'), ''), str(await kv.get(k('e')))) },
  {
    name: 'versions are bigints, grow with each write, and getEntry reports the last', expect: { type: 'bigint', grows: true, same: true, expires: false },
    run: async (kv, { k }) => {
      const a = await kv.put(k('v'), '1');
      const b = await kv.put(k('v'), '2');
      const e = (await kv.getEntry(k('v')))!;
      return { type: typeof a.version, grows: b.version > a.version, same: e.version === b.version, expires: e.expiresAt !== undefined };
    },
  },
  { name: 'delete of an existing key: deleted, then absent', expect: { deleted: true, after: undefined }, run: async (kv, { k }) => (await kv.put(k('d'), 'x'), { ...(await kv.delete(k('d'))), after: await kv.get(k('d')) }) },
  { name: 'delete of an absent key: deleted false', expect: { deleted: false }, run: async (kv, { k }) => kv.delete(k('never')) },
  { name: 'a key with slashes, spaces, % and non-ASCII text', expect: 'ok', run: async (kv, { k }) => (await kv.put(k('a/b c%2F?#é漢'), 'ok'), str(await kv.get(k('a/b c%2F?#é漢')))) },

  // ------------------------------------------------------------ incr
  {
    name: 'incr: absent is 0, by default 1, by any signed 64-bit step', expect: ['1', '42', '-8', '-8'],
    run: async (kv, { k }) => [await kv.incr(k('n')), await kv.incr(k('n'), 41n), await kv.incr(k('n'), -50n), str(await kv.get(k('n')))].map(String),
  },
  { name: 'incr of a value that is not a number: NOT_A_NUMBER', expect: 'NOT_A_NUMBER', run: async (kv, { k }) => (await kv.put(k('t'), 'ten'), codeOf(() => kv.incr(k('t')))) },
  { name: 'incr past 2^63-1: NOT_A_NUMBER', expect: 'NOT_A_NUMBER', run: async (kv, { k }) => (await kv.incr(k('o'), 2n ** 63n - 1n), codeOf(() => kv.incr(k('o')))) },

  // ------------------------------------------------------------ compare-and-swap
  {
    name: 'cas: put with the current version succeeds, with a stale one VERSION_MISMATCH and no change', expect: { ok: true, stale: 'VERSION_MISMATCH', value: 'b' },
    run: async (kv, { k }) => {
      const { version } = await kv.put(k('c'), 'a');
      const next = await kv.put(k('c'), 'b', { ifVersion: version });
      return { ok: next.version > version, stale: await codeOf(() => kv.put(k('c'), 'c', { ifVersion: version })), value: str(await kv.get(k('c'))) };
    },
  },
  {
    name: 'cas: ifVersion 0n creates only if absent', expect: { first: 'no error', second: 'VERSION_MISMATCH', value: '1' },
    run: async (kv, { k }) => ({ first: await codeOf(() => kv.put(k('once'), '1', { ifVersion: 0n })), second: await codeOf(() => kv.put(k('once'), '2', { ifVersion: 0n })), value: str(await kv.get(k('once'))) }),
  },
  {
    name: 'cas: delete with a stale version VERSION_MISMATCH, with the current one deletes', expect: { stale: 'VERSION_MISMATCH', current: true, after: undefined },
    run: async (kv, { k }) => {
      const a = await kv.put(k('cd'), '1');
      const b = await kv.put(k('cd'), '2');
      const stale = await codeOf(() => kv.delete(k('cd'), { ifVersion: a.version }));
      return { stale, current: (await kv.delete(k('cd'), { ifVersion: b.version })).deleted, after: await kv.get(k('cd')) };
    },
  },
  { name: 'cas: put with a version on an absent key: VERSION_MISMATCH', expect: 'VERSION_MISMATCH', run: async (kv, { k }) => codeOf(() => kv.put(k('ghost'), 'x', { ifVersion: 7n })) },

  // ------------------------------------------------------------ batch
  {
    name: 'batch: puts and deletes as one version', expect: { a: 'A', b: undefined, c: 'C', sameVersion: true },
    run: async (kv, { k }) => {
      await kv.put(k('b'), 'old');
      const { version } = await kv.batch([{ type: 'put', key: k('a'), value: 'A' }, { type: 'del', key: k('b') }, { type: 'put', key: k('c'), value: Buffer.from('C') }]);
      const ea = (await kv.getEntry(k('a')))!;
      const ec = (await kv.getEntry(k('c')))!;
      return { a: str(ea.value), b: await kv.get(k('b')), c: str(ec.value), sameVersion: ea.version === version && ec.version === version };
    },
  },
  { name: 'batch: empty is INVALID_ARGUMENT', expect: 'INVALID_ARGUMENT', run: async (kv) => codeOf(() => kv.batch([])) },
  { name: 'batch: an unknown op type is INVALID_ARGUMENT', expect: 'INVALID_ARGUMENT', run: async (kv, { k }) => codeOf(() => kv.batch([{ type: 'incr', key: k('x') } as unknown as BatchOperation])) },
  {
    name: 'batch: one reserved key refuses the whole batch, nothing written', expect: { code: 'RESERVED_KEY', first: undefined },
    run: async (kv, { k }) => ({ code: await codeOf(() => kv.batch([{ type: 'put', key: k('first'), value: '1' }, { type: 'put', key: '_sys.users:x', value: '{}' }])), first: await kv.get(k('first')) }),
  },
  {
    name: 'batch: ttlMs per op', expect: { ttl: true, plain: false },
    run: async (kv, { k }) => {
      await kv.batch([{ type: 'put', key: k('bt'), value: '1', ttlMs: 60_000 }, { type: 'put', key: k('bp'), value: '2' }]);
      return { ttl: (await kv.getEntry(k('bt')))!.expiresAt !== undefined, plain: (await kv.getEntry(k('bp')))!.expiresAt !== undefined };
    },
  },

  // ------------------------------------------------------------ scan (the clients page with scanPageSize 7)
  { name: 'scan: a prefix, every key once, in order, across pages', expect: list(0, 25), run: async (kv, ctx) => (await fill(kv, ctx, 25), keys(kv, { prefix: ctx.k('s/') }, ctx.k(''))) },
  { name: 'scan: reverse, across pages', expect: list(0, 25).reverse(), run: async (kv, ctx) => (await fill(kv, ctx, 25), keys(kv, { prefix: ctx.k('s/'), reverse: true }, ctx.k(''))) },
  { name: 'scan: limit stops mid-page', expect: list(0, 10), run: async (kv, ctx) => (await fill(kv, ctx, 25), keys(kv, { prefix: ctx.k('s/'), limit: 10 }, ctx.k(''))) },
  { name: 'scan: limit 0 yields nothing', expect: [], run: async (kv, ctx) => (await fill(kv, ctx, 3), keys(kv, { prefix: ctx.k('s/'), limit: 0 }, ctx.k(''))) },
  { name: 'scan: [start, end) across pages', expect: list(3, 19), run: async (kv, ctx) => (await fill(kv, ctx, 25), keys(kv, { start: ctx.k('s/03'), end: ctx.k('s/19') }, ctx.k(''))) },
  { name: 'scan: [start, end) reversed with a limit', expect: list(12, 19).reverse(), run: async (kv, ctx) => (await fill(kv, ctx, 25), keys(kv, { start: ctx.k('s/03'), end: ctx.k('s/19'), reverse: true, limit: 7 }, ctx.k(''))) },
  {
    name: 'scan: entries carry their values', expect: [['s/00', 'v0'], ['s/01', 'v1']],
    run: async (kv, ctx) => {
      await fill(kv, ctx, 2);
      const out: string[][] = [];
      for await (const [key, v] of kv.scan({ prefix: ctx.k('s/') })) out.push([key.toString().slice(ctx.k('').length), v.toString()]);
      return out;
    },
  },
  { name: 'scan: an unknown option is UNKNOWN_OPTION', expect: 'UNKNOWN_OPTION', run: async (kv, { k }) => codeOf(async () => { for await (const _ of kv.scan({ prefix: k(''), limt: 3 } as ScanOptions)) void _; }) },
  { name: 'scan: a negative limit is INVALID_ARGUMENT', expect: 'INVALID_ARGUMENT', run: async (kv, { k }) => codeOf(async () => { for await (const _ of kv.scan({ prefix: k(''), limit: -1 })) void _; }) },

  // ------------------------------------------------------------ TTL
  {
    name: 'ttl: the entry reports its expiry, about ttlMs from now', expect: true,
    run: async (kv, { k }) => {
      const t0 = Date.now();
      await kv.put(k('ttl'), 'x', { ttlMs: 60_000 });
      const e = (await kv.getEntry(k('ttl')))!;
      return e.expiresAt! >= t0 + 59_000 && e.expiresAt! <= Date.now() + 61_000;
    },
  },
  { name: 'ttl: an expired entry is gone', expect: { before: 'x', after: undefined }, run: async (kv, { k }) => { await kv.put(k('short'), 'x', { ttlMs: 600 }); const before = str(await kv.get(k('short'))); await sleep(900); return { before, after: await kv.get(k('short')) }; } },
  { name: 'ttl: 0 is INVALID_ARGUMENT', expect: 'INVALID_ARGUMENT', run: async (kv, { k }) => codeOf(() => kv.put(k('z'), 'x', { ttlMs: 0 })) },
  { name: 'ttl: negative is INVALID_ARGUMENT', expect: 'INVALID_ARGUMENT', run: async (kv, { k }) => codeOf(() => kv.put(k('z'), 'x', { ttlMs: -5 })) },

  // ------------------------------------------------------------ errors
  { name: 'a key under _sys. is RESERVED_KEY, to read, write and delete', expect: ['RESERVED_KEY', 'RESERVED_KEY', 'RESERVED_KEY', 'RESERVED_KEY'], run: async (kv) => Promise.all([codeOf(() => kv.get('_sys.users:admin')), codeOf(() => kv.put('_sys.x', 'y')), codeOf(() => kv.delete('_sys.x')), codeOf(() => kv.incr('_sys.n'))]) },
  { name: 'a key over 4096 bytes is KEY_TOO_LARGE', expect: ['KEY_TOO_LARGE', 'KEY_TOO_LARGE'], run: async (kv, { k }) => Promise.all([codeOf(() => kv.put(k('x'.repeat(4097)), 'v')), codeOf(() => kv.get(k('y'.repeat(4097))))]) },
  { name: 'a key of exactly 4096 bytes is fine', expect: 'v', run: async (kv, { k }) => { const key = k('').padEnd(4096, 'm'); await kv.put(key, 'v'); return str(await kv.get(key)); } },
  { name: 'an empty key is INVALID_ARGUMENT', expect: ['INVALID_ARGUMENT', 'INVALID_ARGUMENT'], run: async (kv) => Promise.all([codeOf(() => kv.put('', 'v')), codeOf(() => kv.get(''))]) },
  { name: 'a value over 16 MiB is VALUE_TOO_LARGE', expect: 'VALUE_TOO_LARGE', run: async (kv, { k }) => codeOf(() => kv.put(k('big'), Buffer.alloc(16 * 1024 * 1024 + 1))) },
  { name: 'a misspelled put option is UNKNOWN_OPTION, nothing written', expect: { code: 'UNKNOWN_OPTION', after: undefined }, run: async (kv, { k }) => ({ code: await codeOf(() => kv.put(k('u'), 'v', { ttl: 5 } as PutOptions)), after: await kv.get(k('u')) }) },
  { name: 'a key of the wrong type is INVALID_ARGUMENT', expect: 'INVALID_ARGUMENT', run: async (kv) => codeOf(() => kv.put(42 as unknown as string, 'v')) },

  // ------------------------------------------------------------ transactions
  {
    name: 'txn: version, value and exists compares pick the branch', expect: [true, false, true, false, true, false, true, false],
    run: async (kv, { k }) => {
      const { version } = await kv.put(k('c'), 'm');
      const out: boolean[] = [];
      for (const compare of [
        [{ key: k('c'), op: '=' as const, version }], [{ key: k('c'), op: '<' as const, version }],
        [{ key: k('c'), op: '>' as const, value: 'l' }], [{ key: k('c'), op: '!=' as const, value: 'm' }],
        [{ key: k('none'), op: '=' as const, exists: false }], [{ key: k('c'), op: '=' as const, exists: false }],
        [{ key: k('none'), op: '=' as const, version: 0n }], [{ key: k('none'), op: '=' as const, value: '' }],
      ]) out.push((await kv.txn({ compare, success: [{ type: 'get', key: k('c') }] })).succeeded);
      return out;
    },
  },
  {
    name: 'txn: each branch runs its ops in order, as one version, with results', expect: { succeeded: true, results: [['incr', '8'], ['get', '8', true], ['put', true], ['del', true], ['del', false]], n: '8', gone: undefined, other: undefined, failure: ['put', 'ran'] },
    run: async (kv, { k }) => {
      await kv.put(k('n'), '7');
      await kv.put(k('d'), 'x');
      const r = await kv.txn({
        compare: [{ key: k('n'), op: '=', value: '7' }],
        success: [{ type: 'incr', key: k('n') }, { type: 'get', key: k('n') }, { type: 'put', key: k('p'), value: 'v' }, { type: 'del', key: k('d') }, { type: 'del', key: k('never') }],
        failure: [{ type: 'put', key: k('other'), value: 'x' }],
      });
      const shown = r.results.map((x) => (x.type === 'incr' ? ['incr', String(x.value)] : x.type === 'get' ? ['get', str(x.value), x.version === r.version] : x.type === 'put' ? ['put', x.version === r.version] : ['del', x.deleted]));
      const f = await kv.txn({ compare: [{ key: k('n'), op: '=', value: '7' }], success: [], failure: [{ type: 'put', key: k('f'), value: 'ran' }] });
      return { succeeded: r.succeeded, results: shown, n: str(await kv.get(k('n'))), gone: await kv.get(k('d')), other: await kv.get(k('other')), failure: [f.results[0]!.type, str(await kv.get(k('f')))] };
    },
  },
  {
    name: 'txn: bad input is a coded error and writes nothing', expect: { codes: ['INVALID_ARGUMENT', 'INVALID_ARGUMENT', 'RESERVED_KEY', 'NOT_A_NUMBER', 'UNKNOWN_OPTION'], a: 'orig' },
    run: async (kv, { k }) => {
      await kv.put(k('a'), 'orig');
      const codes = [
        await codeOf(() => kv.txn({ compare: [{ key: k('a'), op: '<', exists: true } as never] })),
        await codeOf(() => kv.txn({ success: [{ type: 'cas', key: k('a') } as never] })),
        await codeOf(() => kv.txn({ success: [{ type: 'put', key: k('a'), value: 'new' }, { type: 'put', key: '_sys.x', value: 'y' }] })),
        await codeOf(() => kv.txn({ success: [{ type: 'put', key: k('a'), value: 'new' }, { type: 'incr', key: k('a') }] })),
        await codeOf(() => kv.txn({ success: [{ type: 'get', key: k('a'), value: 'x' } as never] })),
      ];
      return { codes, a: str(await kv.get(k('a'))) };
    },
  },

  // ------------------------------------------------------------ watch
  {
    name: 'watch: puts, a batch, a txn, an incr and a delete arrive in order; a batch shares one version', expect: { events: [['put', 'w/a', '1'], ['put', 'w/b', '2'], ['del', 'w/a', undefined], ['put', 'w/c', '3'], ['put', 'w/n', '1'], ['put', 'w/n', '2'], ['del', 'w/b', undefined]], same: [true, true], ordered: true },
    run: async (kv, { k }) => {
      const w = await watchFromNow(kv, { prefix: k('w/') }, k('marker'));
      await kv.put(k('w/a'), '1');
      await kv.put(k('elsewhere'), 'not watched');
      await kv.batch([{ type: 'put', key: k('w/b'), value: '2' }, { type: 'del', key: k('w/a') }]);
      await kv.txn({ success: [{ type: 'put', key: k('w/c'), value: '3' }, { type: 'incr', key: k('w/n') }] });
      await kv.incr(k('w/n'));
      await kv.delete(k('w/b'));
      const got = await events(w, 7);
      return {
        events: got.map((e) => ev(e, k(''))), same: [got[1]!.version === got[2]!.version, got[3]!.version === got[4]!.version],
        ordered: got.every((e, i) => i === 0 || e.version >= got[i - 1]!.version),
      };
    },
  },
  {
    name: 'watch: [start, end) and resuming at the last version + 1 leaves no gap and no duplicate', expect: { first: ['r/1', 'r/2', 'r/3'], second: ['r/4', 'r/5'] },
    run: async (kv, { k }) => {
      const w = await watchFromNow(kv, { start: k('r/1'), end: k('r/6') }, k('marker'));
      for (let i = 0; i <= 6; i++) await kv.put(k(`r/${i}`), String(i));
      const first = await events(w, 3);
      const again = kv.watch({ start: k('r/1'), end: k('r/6') }, { fromVersion: first[2]!.version + 1n });
      const second = await events(again, 2);
      return { first: first.map((e) => ev(e, k(''))[1]), second: second.map((e) => ev(e, k(''))[1]) };
    },
  },
  {
    name: 'watch: the single-object form { prefix, fromVersion } is the same watch; an option in both places is refused',
    expect: { keys: ['o/1', 'o/2'], twice: 'INVALID_ARGUMENT', misspelt: 'UNKNOWN_OPTION' },
    run: async (kv, { k }) => {
      const { version } = await kv.put(k('o/1'), '1');
      await kv.put(k('o/2'), '2');
      const w = kv.watch({ prefix: k('o/'), fromVersion: version, maxQueue: 100 });
      return {
        keys: (await events(w, 2)).map((e) => ev(e, k(''))[1]),
        twice: await codeOf(() => kv.watch({ prefix: k('o/'), fromVersion: version }, { fromVersion: version })),
        misspelt: await codeOf(() => kv.watch({ prefix: k('o/'), fromVerison: version } as never)),
      };
    },
  },
  {
    name: 'watch: fromVersion 0 and unknown options are refused', expect: ['INVALID_ARGUMENT', 'UNKNOWN_OPTION'],
    run: async (kv) => [await codeOf(() => kv.watch({}, { fromVersion: 0n })), await codeOf(() => kv.watch({ prefx: 'a' } as never))],
  },

  // ------------------------------------------------------------ credentials and RBAC (servers only)
  {
    name: 'rbac: txn needs read on compared and read keys, write on written ones', only: ['http', 'grpc'], expect: { get: ['seed'], put: 'PERMISSION_DENIED', cmpElsewhere: 'PERMISSION_DENIED', value: 'seed' },
    run: async (kv, ctx) => {
      const key = `ro/${ctx.k('t')}`;
      await kv.put(key, 'seed');
      const r = ctx.as!('reader');
      const g = await r.txn({ compare: [{ key, op: '=', exists: true }], success: [{ type: 'get', key }] });
      return {
        get: g.results.map((x) => (x.type === 'get' ? str(x.value) : x.type)),
        put: await codeOf(() => r.txn({ compare: [{ key, op: '=', exists: true }], success: [{ type: 'put', key, value: 'x' }] })),
        cmpElsewhere: await codeOf(() => r.txn({ compare: [{ key: ctx.k('t'), op: '=', exists: true }] })),
        value: str(await kv.get(key)),
      };
    },
  },
  {
    name: 'rbac: a watcher sees only the keys it may read, never _sys.', only: ['http', 'grpc'], expect: ['ro/ok1', 'ro/ok2'],
    run: async (kv, ctx) => {
      const { version } = await kv.put(`ro/${ctx.k('m')}`, 'm');
      const r = ctx.as!('reader');
      const w = r.watch({}, { fromVersion: version + 1n });
      await kv.put(ctx.k('secret'), 'no');
      await kv.put(`ro/${ctx.k('ok1')}`, 'yes');
      await kv.put(ctx.k('secret2'), 'no');
      await kv.put(`ro/${ctx.k('ok2')}`, 'yes');
      return (await events(w, 2)).map((e) => e.key.toString().replace(ctx.k(''), ''));
    },
  },

  {
    name: 'rbac: a reader may read its prefix, not write it, not read elsewhere', only: ['http', 'grpc'],
    expect: { read: 'seed', write: 'PERMISSION_DENIED', elsewhere: 'PERMISSION_DENIED', scanElsewhere: 'PERMISSION_DENIED', incr: 'PERMISSION_DENIED' },
    run: async (kv, ctx) => {
      const key = `ro/${ctx.k('r')}`;
      await kv.put(key, 'seed');
      const r = ctx.as!('reader');
      return {
        read: str(await r.get(key)), write: await codeOf(() => r.put(key, 'x')), elsewhere: await codeOf(() => r.get(ctx.k('r'))),
        scanElsewhere: await codeOf(async () => { for await (const _ of r.scan({ prefix: ctx.k('') })) void _; }), incr: await codeOf(() => r.incr(key)),
      };
    },
  },
  {
    name: 'rbac: an API key acts with its roles', only: ['http', 'grpc'], expect: { read: 'seed', write: 'PERMISSION_DENIED', who: { auth: true, user: 'reader', type: 'apikey', keyName: 'reader-key', admin: false } },
    run: async (kv, ctx) => {
      const key = `ro/${ctx.k('ak')}`;
      await kv.put(key, 'seed');
      const r = ctx.as!('readerKey');
      const w = await r.whoami();
      return { read: str(await r.get(key)), write: await codeOf(() => r.put(key, 'x')), who: { auth: w.auth, user: w.user, type: w.type, keyName: w.keyName, admin: w.admin } };
    },
  },
  {
    name: 'auth: a forged token, a bad API key and no credentials are AUTH_FAILED', only: ['http', 'grpc'], expect: ['AUTH_FAILED', 'AUTH_FAILED', 'AUTH_FAILED'],
    run: async (_kv, ctx) => Promise.all([codeOf(() => ctx.as!('badToken').get('k')), codeOf(() => ctx.as!('badKey').put('k', 'v')), codeOf(() => ctx.as!('none').get('k'))]),
  },
];
