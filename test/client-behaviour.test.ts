/**
 * One table of behaviour cases (behaviour-cases.ts), three back ends: the embedded store,
 * `kvstore-plus-plus/client` over HTTP and the same client over gRPC, both against one real
 * kvstored child per engine. Every case must give its expected observation on every back end
 * it applies to — so the three agree with each other and with the table, error codes
 * included.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { open, type Store } from '../ts/index.js';
import { connect, type KvClient } from '../ts/client/index.js';
import { type Backend, CASES, type CaseContext, type Kv, type RemoteKv } from './behaviour-cases.js';
import { ENGINES, tempDir } from './helpers.js';
import { type Kvstored, adminCall, loginToken, startKvstored } from './kvstored-child.js';

const READER_PASSWORD = 'reader password 123';

interface Fixture {
  server: Kvstored;
  store: Store;
  adminToken: string;
  readerToken: string;
  readerKey: string;
  clients: Record<'http' | 'grpc', KvClient>;
}

async function setUp(engine: string): Promise<Fixture> {
  const server = await startKvstored(['--engine', engine]);
  const adminToken = await loginToken(server.url);
  await adminCall(server.url, adminToken, 'POST', 'roles', { name: 'ro', permissions: [{ prefix: 'ro/', actions: ['read', 'scan'] }] });
  await adminCall(server.url, adminToken, 'POST', 'users', { name: 'reader', password: READER_PASSWORD, roles: ['ro'] });
  const { token: readerKey } = (await adminCall(server.url, adminToken, 'POST', 'apikeys', { owner: 'reader', name: 'reader-key' })) as { token: string };
  const readerToken = await loginToken(server.url, 'reader', READER_PASSWORD);
  const store = await open({ dir: tempDir('behaviour'), engine: engine as 'native' | 'js' });
  // Small scan pages, so every scan case crosses page boundaries on the wire.
  const clients = {
    http: connect({ url: server.url, token: adminToken, scanPageSize: 7 }),
    grpc: connect({ url: server.grpc, token: adminToken, scanPageSize: 7 }),
  };
  return { server, store, adminToken, readerToken, readerKey, clients };
}

async function tearDown(f: Fixture): Promise<void> {
  await f.clients.http.close();
  await f.clients.grpc.close();
  await f.store.close();
  assert.is(await f.server.stop(), 0, f.server.stdout());
}

for (const engine of ENGINES) {
  const test = suite(`client behaviour [${engine}]`);
  let f: Fixture;
  test.before(async () => void (f = await setUp(engine)));
  test.after(async () => tearDown(f));

  CASES.forEach((c, i) => {
    test(c.name, async () => {
      const results: Array<[Backend, unknown]> = [];
      for (const backend of c.only ?? (['embedded', 'http', 'grpc'] as const)) {
        const extra: KvClient[] = [];
        const ctx: CaseContext = { k: (s) => `${backend}/${i}/${s}` };
        if (backend !== 'embedded') {
          const url = backend === 'http' ? f.server.url : f.server.grpc;
          ctx.as = (who): RemoteKv => {
            const cred = { reader: { token: f.readerToken }, readerKey: { apiKey: f.readerKey }, badToken: { token: `${f.readerToken.slice(0, -4)}AAAA` }, badKey: { apiKey: 'kvs_bogus_key' }, none: {} }[who];
            const cl = connect({ url, ...cred, scanPageSize: 7, retry: { retries: 0 } });
            extra.push(cl);
            return cl;
          };
        }
        const kv: Kv = backend === 'embedded' ? f.store : f.clients[backend];
        try {
          results.push([backend, await c.run(kv, ctx)]);
        } finally {
          for (const cl of extra) await cl.close();
        }
      }
      for (const [backend, got] of results) assert.equal(got, c.expect, `${backend}: ${JSON.stringify(got)}`);
    });
  });

  test.run();
}
