/**
 * The server side of bench/rate-limit.ts, in its own process so that its CPU time is the
 * server's alone. A kvstored-like fastify app: GET /v1/kv/* answers a 100 B value from a Map,
 * after an async onRequest hook that does what kvstored's does (per-IP limit, then the API key
 * looked up, then the per-principal limit), with the limiter named by --mode:
 *   none          no limiter at all (the hook only authenticates)
 *   ours          kvstored's RateLimits (ts/server/limiter.ts), as ts/server/routes.ts calls it
 *   plugin        @fastify/rate-limit (global: false) and two fastify.createRateLimit() checks
 *                 called from the same hook: keyGenerator = IP, then = principal; the order is
 *                 kvstored's (IP before credentials)
 *   plugin-hooks  two @fastify/rate-limit instances as route hooks: IP on onRequest, principal
 *                 on preParsing, with the API key checked in an app-level preParsing hook
 *                 (route hooks run after app-level hooks of the same kind, so authentication
 *                 cannot stay in onRequest and still come after the IP limit)
 * Limits are set so high (--max) that nothing is refused: the bench measures what a check costs.
 * Prints one JSON line { url, apiKey } once listening; exits when stdin closes.
 */
import rateLimit from '@fastify/rate-limit';
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify';
import type { Principal } from '../ts/auth/service.js';
import { RateLimits } from '../ts/server/limiter.js';

const args = Object.fromEntries(process.argv.slice(2).map((a, i, all) => (a.startsWith('--') ? [a.slice(2), all[i + 1]] : [])).filter((x) => x.length));
const mode = args.mode ?? 'none';
const max = Number(args.max ?? 1e9);
const keys = Number(args.keys ?? 10_000);
process.stdin.on('end', () => process.exit(0)).resume();

declare module 'fastify' {
  interface FastifyRequest { benchPrincipal: Principal | null }
}

const apiKey = 'kvk_bench_0123456789abcdef';
const principals = new Map<string, Principal>([[apiKey, { type: 'apikey', user: 'bench', oid: 1, keyId: 'k1' }]]);
const values = new Map<string, string>();
for (let i = 0; i < keys; i++) values.set(`key${String(i).padStart(13, '0')}`, 'v'.repeat(100));

const refused = (reply: FastifyReply, wait: number): Error => {
  reply.header('retry-after', String(wait));
  return Object.assign(new Error(`rate limit reached; retry in ${wait} s`), { statusCode: 429 });
};
const authenticate = (request: FastifyRequest): Principal => {
  const p = principals.get(String(request.headers['x-api-key']));
  if (!p) throw Object.assign(new Error('bad credentials'), { statusCode: 401 });
  return p;
};

const app = Fastify();
app.decorateRequest('benchPrincipal', null);

if (mode === 'none') {
  app.addHook('onRequest', async (request) => {
    request.benchPrincipal = authenticate(request);
  });
} else if (mode === 'ours') {
  const limits = new RateLimits(max, 20);
  app.addHook('onRequest', async (request, reply) => {
    const ipWait = limits.ip.hit(request.ip);
    if (ipWait > 0) throw refused(reply, ipWait);
    const p = (request.benchPrincipal = authenticate(request));
    const wait = limits.principal.hit(RateLimits.principalKey(p));
    if (wait > 0) throw refused(reply, wait);
  });
} else if (mode === 'plugin') {
  await app.register(rateLimit, { global: false });
  const ipCheck = app.createRateLimit({ max, timeWindow: 60_000, keyGenerator: (r) => r.ip });
  const principalCheck = app.createRateLimit({ max, timeWindow: 60_000, keyGenerator: (r) => RateLimits.principalKey(r.benchPrincipal!) });
  app.addHook('onRequest', async (request, reply) => {
    const ip = await ipCheck(request);
    if (!ip.isAllowed && ip.isExceeded) throw refused(reply, ip.ttlInSeconds);
    request.benchPrincipal = authenticate(request);
    const pr = await principalCheck(request);
    if (!pr.isAllowed && pr.isExceeded) throw refused(reply, pr.ttlInSeconds);
  });
} else if (mode === 'plugin-hooks') {
  await app.register(rateLimit, { max, timeWindow: 60_000, hook: 'onRequest', keyGenerator: (r) => r.ip });
  app.addHook('preParsing', async (request) => {
    request.benchPrincipal = authenticate(request);
  });
  await app.register(rateLimit, { max, timeWindow: 60_000, hook: 'preParsing', keyGenerator: (r) => RateLimits.principalKey(r.benchPrincipal!) });
} else {
  throw new Error(`unknown --mode ${mode}`);
}

app.get('/v1/kv/*', async (request, reply) => {
  const v = values.get((request.params as { '*': string })['*']);
  if (v === undefined) return reply.code(404).send({ code: 'NOT_FOUND' });
  return reply.type('application/octet-stream').send(v);
});

const url = await app.listen({ host: '127.0.0.1', port: 0 });
process.stdout.write(JSON.stringify({ url, apiKey }) + '\n');
