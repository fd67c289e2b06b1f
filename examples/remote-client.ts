/**
 * The client against a running kvstored: the same calls as the embedded quick start, over
 * HTTP or gRPC depending on the URL. docs/client.md shows this file; test/client.test.ts runs
 * it against a real kvstored on both URLs.
 *
 *   KVSTORE_URL=http://127.0.0.1:8080 KVSTORE_API_KEY=kvs_… node dist/examples/remote-client.js
 *   KVSTORE_URL=grpc://127.0.0.1:9090 KVSTORE_API_KEY=kvs_… node dist/examples/remote-client.js
 */
import { KvError, connect } from '../ts/client/index.js';

const kv = connect({ url: process.env.KVSTORE_URL ?? 'http://127.0.0.1:8080', apiKey: process.env.KVSTORE_API_KEY });
try {
  const { version } = await kv.put('user:1', 'ada');
  console.log((await kv.get('user:1'))?.toString()); // ada

  // compare-and-swap: only if nobody wrote since we read
  await kv.put('user:1', 'ada lovelace', { ifVersion: version });
  try {
    await kv.put('user:1', 'stale', { ifVersion: version });
  } catch (err) {
    if (err instanceof KvError && err.code === 'VERSION_MISMATCH') console.log('someone else wrote first');
    else throw err;
  }

  console.log(await kv.incr('visits')); // 1n, 2n, …
  await kv.batch([{ type: 'put', key: 'user:2', value: 'grace' }, { type: 'del', key: 'user:0' }]);
  for await (const [key, value] of kv.scan({ prefix: 'user:' })) console.log(`${key} = ${value}`);

  // a transaction: both writes or neither, and only if user:2 is still 'grace'
  const t = await kv.txn({
    compare: [{ key: 'user:2', op: '=', value: 'grace' }],
    success: [{ type: 'put', key: 'user:2', value: 'grace hopper' }, { type: 'incr', key: 'renames' }],
    failure: [{ type: 'get', key: 'user:2' }],
  });
  console.log(`txn succeeded: ${t.succeeded}`); // true the first time

  // the change feed of user:*, replayed from the first put above, then live
  const changes = kv.watch({ prefix: 'user:' }, { fromVersion: version });
  for await (const e of changes) {
    console.log(`watch: ${e.type} ${e.key} = ${e.value ?? ''}`);
    if (e.value?.toString() === 'grace hopper') break; // the transaction's put: stop here
  }
} finally {
  await kv.close();
}
