/**
 * Crash in the middle of catalog changes, with real processes: a child
 * (test/children/catalog-writer.ts) creates roles, users, grants and API keys, drops users
 * and roles and revokes keys, one change at a time, and is SIGKILLed at a random moment.
 * After each kill the catalog must be exactly the state after the acknowledged changes, or
 * after those plus the one in flight (a change is one batch: all of it or none), its indexes
 * must cross-check, and every surviving API key must authenticate (revoked ones must not).
 * KVSTORE_CATALOG_CRASH_ROUNDS (default 6) rounds per engine, on one directory.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { AuthService, open } from '../ts/index.js';
import { BUILTIN_ROLES } from '../ts/catalog/schema.js';
import { ENGINES, tempDir } from './helpers.js';
import { sleep, startChild } from './proc.js';

const ROUNDS = Math.max(2, Number(process.env.KVSTORE_CATALOG_CRASH_ROUNDS ?? 6));

type CatalogOp =
  | { t: 'role'; name: string }
  | { t: 'user'; name: string; roles: string[] }
  | { t: 'grant'; user: string; role: string }
  | { t: 'key'; name: string; owner: string }
  | { t: 'dropUser'; name: string }
  | { t: 'revoke'; name: string }
  | { t: 'dropRole'; name: string };

interface Model {
  roles: Set<string>;
  users: Map<string, Set<string>>;
  keys: Map<string, { owner: string; revoked: boolean }>;
}

const clone = (m: Model): Model => ({
  roles: new Set(m.roles),
  users: new Map([...m.users].map(([k, v]) => [k, new Set(v)])),
  keys: new Map([...m.keys].map(([k, v]) => [k, { ...v }])),
});

function apply(m: Model, op: CatalogOp): void {
  switch (op.t) {
    case 'role': m.roles.add(op.name); break;
    case 'user': m.users.set(op.name, new Set(op.roles)); break;
    case 'grant': m.users.get(op.user)!.add(op.role); break;
    case 'key': m.keys.set(op.name, { owner: op.owner, revoked: false }); break;
    case 'dropUser':
      m.users.delete(op.name);
      for (const [k, v] of m.keys) if (v.owner === op.name) m.keys.delete(k);
      break;
    case 'revoke': m.keys.get(op.name)!.revoked = true; break;
    case 'dropRole':
      m.roles.delete(op.name);
      for (const roles of m.users.values()) roles.delete(op.name);
      break;
  }
}

function show(m: Model): string {
  return JSON.stringify({
    roles: [...m.roles].sort(),
    users: [...m.users].map(([k, v]) => [k, [...v].sort()]).sort(),
    keys: [...m.keys].map(([k, v]) => [k, v.owner, v.revoked]).sort(),
  });
}

function observe(auth: AuthService): Model {
  const builtin = new Set(BUILTIN_ROLES.map((r) => r.name));
  return {
    roles: new Set(auth.listRoles().map((r) => r.name).filter((r) => !builtin.has(r))),
    users: new Map(auth.listUsers().map((u) => [u.name, new Set(u.roles)])),
    keys: new Map(auth.listApiKeys().map((k) => [k.name, { owner: k.owner, revoked: k.revoked }])),
  };
}

for (const engine of ENGINES) {
  const test = suite(`catalog crash [${engine}]`);

  test(`${ROUNDS} SIGKILLs during catalog changes: all of a change or none, indexes consistent, keys usable`, async () => {
    const dir = tempDir('catcrash');
    let model: Model = { roles: new Set(), users: new Map(), keys: new Map() };
    const tokens = new Map<string, string>();
    let totalAcked = 0;
    let inFlightLanded = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const child = startChild('catalog-writer', [dir, engine, String(round)]);
      await child.waitFor((l) => l.includes('"ready"'));
      await sleep(100 + Math.floor(Math.random() * 400));
      await child.kill();
      const acked = clone(model);
      let pending: CatalogOp | null = null;
      for (const line of child.lines()) {
        const e = JSON.parse(line) as { t: string; op?: CatalogOp; token?: string };
        if (e.t === 'b') pending = e.op!;
        if (e.t === 'a') {
          apply(acked, pending!);
          if (pending!.t === 'key') tokens.set(pending!.name, e.token!);
          pending = null;
          totalAcked++;
        }
      }
      const db = await open({ dir, engine });
      const auth = await AuthService.open(db);
      try {
        assert.equal(auth.checkCatalog(), [], `round ${round}: catalog indexes`);
        const got = observe(auth);
        const withPending = clone(acked);
        if (pending) apply(withPending, pending);
        const seen = show(got);
        assert.ok(seen === show(acked) || seen === show(withPending), `round ${round}: recovered catalog is neither the acknowledged state nor that plus the change in flight (${JSON.stringify(pending)})\n got ${seen}\n acked ${show(acked)}`);
        if (pending && seen !== show(acked)) inFlightLanded++;
        for (const [name, k] of got.keys) {
          const token = tokens.get(name);
          if (!token) continue; // created by the change in flight: its token was never printed
          let ok = true;
          try {
            auth.authenticateApiKey(token);
          } catch {
            ok = false;
          }
          assert.is(ok, !k.revoked, `round ${round}: key ${name} (revoked ${k.revoked})`);
        }
        model = got;
      } finally {
        await auth.close();
        await db.close();
      }
    }
    assert.ok(totalAcked > ROUNDS, `the child made progress (${totalAcked} acknowledged changes)`);
    console.log(`  catalog crash [${engine}]: ${ROUNDS} rounds, ${totalAcked} acknowledged changes, ${inFlightLanded} in-flight changes landed whole`);
  });

  test.run();
}
