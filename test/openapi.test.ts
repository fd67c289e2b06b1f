/**
 * The OpenAPI document a real kvstored serves at /openapi.json is a valid OpenAPI 3.1
 * contract (`redocly lint` with the repository's redocly.yaml, zero problems) and is exactly
 * the committed docs/openapi.json, whose openapi-typescript types are exactly the committed
 * test/generated/openapi.d.ts: a change to the API shows in review as a change to those files
 * (`npm run gen:openapi` writes them).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { repoRoot, tempDir } from './helpers.js';
import { type Kvstored, startKvstored } from './kvstored-child.js';

type Doc = { openapi: string; paths: Record<string, Record<string, { operationId?: string; responses: Record<string, unknown> }>>; components: Record<string, Record<string, unknown>> };
interface Gen {
  DOC_FILE: string;
  TYPES_FILE: string;
  documentText(doc: unknown): string;
  typesText(doc: unknown): Promise<string>;
}

const REDOCLY = path.join(repoRoot, 'node_modules', '@redocly', 'cli', 'bin', 'cli.js');

interface LintResult { status: number | null; errors: number; warnings: number; rules: string[] }

/** `redocly lint` on `doc` (written to a temp file) with redocly.yaml; its totals and the rules that fired. */
function lint(doc: unknown): LintResult {
  const file = path.join(tempDir('openapi'), 'openapi.json');
  fs.writeFileSync(file, JSON.stringify(doc));
  const r = spawnSync(process.execPath, [REDOCLY, 'lint', file, '--config', path.join(repoRoot, 'redocly.yaml'), '--format', 'json'], {
    cwd: repoRoot, encoding: 'utf8', timeout: 120_000, maxBuffer: 64 * 1024 * 1024,
    // Offline: no telemetry, no update check (redocly.yaml says so too).
    env: { PATH: process.env.PATH ?? '', REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true', CI: 'true' },
  });
  const start = r.stdout.indexOf('{');
  assert.ok(start >= 0, `redocly printed no JSON report: ${r.stdout} ${r.stderr}`);
  const out = JSON.parse(r.stdout.slice(start)) as { totals: { errors: number; warnings: number }; problems: Array<{ ruleId: string; message: string; location: Array<{ pointer: string }> }> };
  if (out.totals.errors + out.totals.warnings > 0) console.log(out.problems.slice(0, 20).map((p) => `  ${p.ruleId}: ${p.message} at ${p.location[0]?.pointer ?? '?'}`).join('\n'));
  return { status: r.status, errors: out.totals.errors, warnings: out.totals.warnings, rules: [...new Set(out.problems.map((p) => p.ruleId))].sort() };
}

const t = suite<{ server: Kvstored | null; doc: Doc | null; gen: Gen | null }>('openapi document', { server: null, doc: null, gen: null });

t.before(async (ctx) => {
  ctx.gen = (await import(pathToFileURL(path.join(repoRoot, 'scripts', 'gen-openapi.mjs')).href)) as Gen;
  ctx.server = await startKvstored([], { grpc: false });
  const r = await fetch(`${ctx.server.url}/openapi.json`);
  assert.is(r.status, 200);
  assert.match(r.headers.get('content-type') ?? '', /^application\/json/);
  ctx.doc = (await r.json()) as Doc;
});

t.after(async (ctx) => {
  if (ctx.server) assert.is(await ctx.server.stop(), 0);
});

t('the served document is OpenAPI 3.1 and passes redocly lint with zero errors and warnings', (ctx) => {
  const doc = ctx.doc!;
  assert.is(doc.openapi, '3.1.0');
  const r = lint(doc);
  assert.equal({ status: r.status, errors: r.errors, warnings: r.warnings }, { status: 0, errors: 0, warnings: 0 });
});

t('the lint fails a broken document: it is not a rubber stamp', (ctx) => {
  const broken = structuredClone(ctx.doc!);
  const get = broken.paths['/v1/kv/{key}']!.get!;
  delete get.operationId;
  get.responses['404'] = { description: 'not found', content: { 'application/json': { schema: { type: 'object' } } } };
  (broken.paths['/v1/kv']!.get! as { parameters?: unknown[] }).parameters = [{ name: 'limit', in: 'query', schema: { type: 'integer', exclusiveMinimum: true } }];
  const r = lint(broken);
  assert.is.not(r.status, 0);
  assert.ok(r.errors >= 3, `${r.errors} errors`);
  for (const rule of ['operation-operationId', 'operation-4xx-problem-details-rfc7807', 'struct']) assert.ok(r.rules.includes(rule), `${rule} in ${r.rules.join(', ')}`);
});

t('every operation has an operationId, and every /v1 error is a problem+json Problem', (ctx) => {
  const doc = ctx.doc!;
  const ids = new Set<string>();
  for (const [p, item] of Object.entries(doc.paths)) {
    for (const [method, o] of Object.entries(item)) {
      assert.ok(o.operationId, `${method} ${p}`);
      assert.not.ok(ids.has(o.operationId!), o.operationId);
      ids.add(o.operationId!);
      if (!p.startsWith('/v1/')) continue;
      for (const s of ['400', '401', '403', '429', '503', 'default']) assert.ok(o.responses[s], `${o.operationId} ${s}`);
    }
  }
  // the key routes as path templates; the replication protocol hidden; the raw PUT body documented
  assert.ok(doc.paths['/v1/kv/{key}']?.put && doc.paths['/v1/kv/{key}/incr']?.post);
  assert.not.ok(Object.keys(doc.paths).some((p) => p.includes('*') || p.startsWith('/v1/replication/')));
  const put = doc.paths['/v1/kv/{key}']!.put as unknown as { requestBody: { content: Record<string, unknown> } };
  assert.ok(put.requestBody.content['application/octet-stream']);
  const responses = doc.components.responses as Record<string, { content?: Record<string, { schema: { $ref: string } }> }>;
  for (const [name, r] of Object.entries(responses)) {
    if (name === 'Redirect') continue;
    assert.equal(Object.keys(r.content ?? {}), ['application/problem+json'], name);
    assert.is(r.content!['application/problem+json']!.schema.$ref, '#/components/schemas/Problem', name);
  }
});

t('docs/openapi.json and test/generated/openapi.d.ts are what the server serves (else: npm run gen:openapi)', async (ctx) => {
  const gen = ctx.gen!;
  const committed = fs.readFileSync(gen.DOC_FILE, 'utf8');
  const served = gen.documentText(ctx.doc);
  if (committed !== served) {
    const a = committed.split('\n');
    const b = served.split('\n');
    const i = a.findIndex((line, n) => line !== b[n]);
    assert.unreachable(`docs/openapi.json differs from the served document from line ${i + 1}: committed ${JSON.stringify(a[i])}, served ${JSON.stringify(b[i])}; run npm run gen:openapi`);
  }
  assert.ok(fs.readFileSync(gen.TYPES_FILE, 'utf8') === (await gen.typesText(ctx.doc)), 'test/generated/openapi.d.ts is stale: run npm run gen:openapi');
});

t.run();
