/**
 * Writers for the cluster tests: concurrent clients that PUT distinct keys to whichever node
 * the test points them at and record every acknowledged write (with its version), and the
 * check that every acknowledged write reads back from a node.
 */
import * as assert from 'uvu/assert';
import { type KvNode, sleep } from './repl-cluster.js';

export interface Ack {
  key: string;
  value: string;
  /** The version (LSN) the primary acknowledged it with. */
  version: bigint;
  /** When the client got the acknowledgement (ms since epoch). */
  at: number;
}

/**
 * `clients` concurrent writers PUT distinct keys to `target()` until stop() (bounded: 30 s);
 * records every acknowledged (2xx) write. A failed write is not retried: its outcome is unknown.
 */
export function writers(node: () => KvNode, key: string, prefix: string, clients = 4): { acked: Ack[]; failed: string[]; stop(): Promise<void> } {
  const acked: Ack[] = [];
  const failed: string[] = [];
  let done = false;
  const t0 = Date.now();
  const loops = Array.from({ length: clients }, async (_, c) => {
    for (let i = 0; !done && Date.now() - t0 < 30_000; i++) {
      const k = `${prefix}-${c}-${i}`;
      const v = `v${i}`;
      try {
        const r = await node().api('PUT', `/v1/kv/${k}`, { key, raw: v, timeoutMs: 3000 });
        if (r.status >= 200 && r.status < 300) acked.push({ key: k, value: v, version: BigInt(r.json<{ version: string }>().version), at: Date.now() });
        else {
          failed.push(`${r.status} ${r.text.slice(0, 200)}`);
          await sleep(20);
        }
      } catch (err) {
        failed.push((err as Error).message);
        await sleep(20);
      }
    }
  });
  return {
    acked, failed,
    stop: async () => {
      done = true;
      await Promise.all(loops);
    },
  };
}

/** Every acknowledged write reads back with its value from `node`. */
export async function assertAllPresent(node: KvNode, key: string, acked: readonly Ack[], where: string): Promise<void> {
  let missing = 0;
  const examples: string[] = [];
  for (const a of acked) {
    const r = await node.api('GET', `/v1/kv/${a.key}`, { key, timeoutMs: 5000 });
    if (r.status !== 200 || r.text !== a.value) {
      missing++;
      if (examples.length < 5) examples.push(`${a.key}: ${r.status} ${r.text.slice(0, 80)}`);
    }
  }
  assert.is(missing, 0, `${missing} of ${acked.length} acknowledged writes missing on ${where}: ${examples.join('; ')}`);
}
