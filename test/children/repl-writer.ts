/**
 * Writer child for the replication loss tests: argv = url apiKey prefix clients maxMs.
 * `clients` concurrent loops PUT <prefix>-<i> = "<i>" (i unique across loops) on kvstored
 * at url. Every 2xx answer is recorded with ack(i) before the next request of that loop,
 * written synchronously (emit.ts), so the parent's count of acknowledged writes survives the
 * primary's SIGKILL and this child's. Failures print {"t":"e","i","code"}. Stops after maxMs
 * (then prints "done") or when killed; also exits when the parent dies.
 */
import { ack, emit } from './emit.js';
import { exitWithParent } from './exit-with-parent.js';

const [url, apiKey, prefix, clientsArg, maxMsArg] = process.argv.slice(2) as [string, string, string, string, string];
const deadline = Date.now() + Number(maxMsArg);
let next = 0;

exitWithParent();

async function loop(): Promise<void> {
  while (Date.now() < deadline) {
    const i = next++;
    try {
      const res = await fetch(`${url}/v1/kv/${prefix}-${i}`, {
        method: 'PUT', headers: { 'x-api-key': apiKey, 'content-type': 'application/octet-stream' }, body: String(i), signal: AbortSignal.timeout(30_000),
      });
      const text = await res.text();
      if (res.status >= 200 && res.status < 300) ack(i, { version: (JSON.parse(text) as { version?: string }).version ?? null });
      else emit({ t: 'e', i, code: (JSON.parse(text) as { code?: string }).code ?? `HTTP_${res.status}` });
    } catch (err) {
      emit({ t: 'e', i, code: (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name });
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

await Promise.all(Array.from({ length: Number(clientsArg) }, loop));
emit({ t: 'done' });
process.exit(0);
