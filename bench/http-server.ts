/**
 * The server side of bench/http.ts, in its own process so the load generator does not share
 * its event loop: `bare` is a fastify route answering a constant (no logger, defaults); `store`
 * is kvstored's buildServer() over a store preloaded with `keys` keys, auth on or off.
 * Prints one JSON line { url, apiKey? } once listening; exits when stdin closes.
 */
import Fastify from 'fastify';
import { AuthService, open } from '../ts/index.js';
import { loadConfig } from '../ts/server/config.js';
import { buildServer } from '../ts/server/server.js';
import { keyString, loadStore } from './common.js';

const args = Object.fromEntries(process.argv.slice(2).map((a, i, all) => (a.startsWith('--') ? [a.slice(2), all[i + 1]] : [])).filter((x) => x.length));
const mode = args.mode ?? 'bare';
process.stdin.on('end', () => process.exit(0)).resume();

if (mode === 'bare') {
  const app = Fastify();
  app.get('/v1/kv/*', async () => 'x'.repeat(100));
  app.put('/v1/kv/*', async () => ({ version: '1' }));
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_r, b, done) => done(null, b));
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  process.stdout.write(JSON.stringify({ url }) + '\n');
} else {
  const db = await open({ dir: args.dir!, engine: (args.engine ?? 'native') as 'native' | 'js', durability: (args.durability ?? 'always') as 'always', onLog: () => {} });
  await loadStore(db, Number(args.keys ?? 10_000));
  const auth = args.auth === 'on' ? await AuthService.open(db) : null;
  let apiKey: string | undefined;
  if (auth) {
    await auth.createUser('bench', { roles: ['writer'] });
    apiKey = (await auth.createApiKey('bench', { name: 'bench-key' })).token;
  }
  const { config } = loadConfig([], {});
  const { app } = await buildServer({ ...config, logLevel: 'warn', auth: auth !== null, rateLimit: 0 }, db, auth);
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  process.stdout.write(JSON.stringify({ url, apiKey, sample: keyString(0) }) + '\n');
}
