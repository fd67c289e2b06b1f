/**
 * Model-based test: the same seeded random operation sequence drives every engine and a
 * plain Map model; after every step their answers agree, and after reopening (also with
 * the other engine) the state is the model's.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { open, type Store } from '../ts/index.js';
import { ENGINES, type EngineName, tempDir } from './helpers.js';

interface ModelEntry {
  value: string;
  expiresAt: number;
}

/** mulberry32: small, seedable, good enough to pick operations. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Model {
  readonly map = new Map<string, ModelEntry>();
  constructor(private readonly clock: () => number) {}
  live(k: string): ModelEntry | undefined {
    const e = this.map.get(k);
    return e && (e.expiresAt === 0 || e.expiresAt > this.clock()) ? e : undefined;
  }
  sorted(prefix: string): Array<[string, string]> {
    return [...this.map.keys()]
      .filter((k) => k.startsWith(prefix) && this.live(k))
      .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
      .map((k) => [k, this.map.get(k)!.value]);
  }
}

const STEPS = Number(process.env.KVSTORE_MODEL_STEPS ?? 600);
const SEEDS = [1, 2, 3];

async function drive(engines: EngineName[], seed: number): Promise<void> {
  const rand = rng(seed);
  let now = 5_000_000;
  const clock = (): number => now;
  const dirs = engines.map(() => tempDir('model'));
  const dbs: Store[] = await Promise.all(engines.map((engine, i) => open({ dir: dirs[i]!, engine, clock, durability: 'always' })));
  const model = new Model(clock);
  const key = (): string => `k${Math.floor(rand() * 40)}${rand() < 0.1 ? 'é' : ''}`;
  let step = 0;
  const expect = (what: string, got: unknown[], want: unknown): void => {
    const w = JSON.stringify(want, (_, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v));
    for (let i = 0; i < got.length; i++) {
      const g = JSON.stringify(got[i], (_, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v));
      if (g === w) continue;
      let at = 0;
      while (at < g.length && g[at] === w[at]) at++;
      assert.unreachable(`${what} differs (${engines[i]}, seed ${seed}, step ${step}) at char ${at}: got …${g.slice(Math.max(0, at - 40), at + 60)}… want …${w.slice(Math.max(0, at - 40), at + 60)}…`);
    }
  };

  for (; step < STEPS; step++) {
    const r = rand();
    const k = key();
    if (r < 0.3) {
      const value = `v${step}`;
      const ttlMs = rand() < 0.2 ? 1 + Math.floor(rand() * 50) : undefined;
      await Promise.all(dbs.map((db) => db.put(k, value, { ttlMs })));
      model.map.set(k, { value, expiresAt: ttlMs ? now + ttlMs : 0 });
    } else if (r < 0.4) {
      const res = await Promise.all(dbs.map((db) => db.delete(k)));
      expect('delete', res, { deleted: model.live(k) !== undefined });
      model.map.delete(k);
    } else if (r < 0.5) {
      // CAS with the version each engine reports for this key (versions may differ per
      // engine only if LSN assignment diverged, which itself would be a bug).
      const versions = dbs.map((db) => db.getEntry(k)?.version ?? 0n);
      expect('version', versions.slice(1), versions[0]);
      const stale = rand() < 0.5;
      const want = stale ? versions[0]! + 1n : versions[0]!;
      const res = await Promise.all(dbs.map((db) => db.put(k, `cas${step}`, { ifVersion: want }).then(() => 'ok', (e: { code: string }) => e.code)));
      expect('cas', res, stale ? 'VERSION_MISMATCH' : 'ok');
      if (!stale) model.map.set(k, { value: `cas${step}`, expiresAt: 0 });
    } else if (r < 0.58) {
      const by = BigInt(Math.floor(rand() * 10) - 3);
      const cur = model.live(k);
      const res = await Promise.all(dbs.map((db) => db.incr(k, by).then(String, (e: { code: string }) => e.code)));
      if (cur && !/^-?\d+$/.test(cur.value)) expect('incr', res, 'NOT_A_NUMBER');
      else {
        const next = String(BigInt(cur?.value ?? '0') + by);
        expect('incr', res, next);
        model.map.set(k, { value: next, expiresAt: cur?.expiresAt ?? 0 });
      }
    } else if (r < 0.66) {
      const ops = Array.from({ length: 1 + Math.floor(rand() * 4) }, (_, i) =>
        rand() < 0.75 ? { type: 'put' as const, key: key(), value: `b${step}.${i}` } : { type: 'del' as const, key: key() },
      );
      await Promise.all(dbs.map((db) => db.batch(ops)));
      for (const op of ops) {
        if (op.type === 'put') model.map.set(op.key, { value: op.value, expiresAt: 0 });
        else model.map.delete(op.key);
      }
    } else if (r < 0.8) {
      expect('get', dbs.map((db) => db.get(k)?.toString()), model.live(k)?.value);
    } else if (r < 0.88) {
      const prefix = rand() < 0.5 ? '' : `k${Math.floor(rand() * 4)}`;
      const want = model.sorted(prefix);
      expect('scan', dbs.map((db) => [...db.scan({ prefix })].map(([a, b]) => [a.toString(), b.toString()])), want);
      expect('count', dbs.map((db) => db.count(prefix)), want.length);
    } else if (r < 0.95) {
      now += Math.floor(rand() * 30);
    } else if (r < 0.98) {
      await Promise.all(dbs.map((db) => db.checkpoint()));
    } else {
      // Reopen each directory, with the *other* engine when both are under test.
      await Promise.all(dbs.map((db) => db.close()));
      for (let i = 0; i < dbs.length; i++) {
        const engine = engines[(i + step) % engines.length]!;
        dbs[i] = await open({ dir: dirs[i]!, engine, clock });
      }
    }
  }
  for (const db of dbs) {
    assert.equal([...db.scan()].map(([a, b]) => [a.toString(), b.toString()]), model.sorted(''));
    await db.close();
  }
}

const test = suite('model');
for (const seed of SEEDS) {
  test(`${ENGINES.join(' + ')} agree with a Map model (seed ${seed}, ${STEPS} steps)`, async () => {
    await drive(ENGINES, seed);
  });
}
test.run();
