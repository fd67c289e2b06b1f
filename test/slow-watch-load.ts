/**
 * The load of the slow-consumer watch tests (watch-http over SSE, grpc-server over gRPC): 30 MB
 * of batched 1 KB puts against a kvstored child, measuring the child's RSS growth, so a test
 * can compare a watch nobody reads with no watch at all.
 */
import fs from 'node:fs';
import type { BatchOperation } from '../ts/index.js';

/** A process's resident set, bytes (/proc). */
export function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m![1]) * 1024;
}

/** 60 batches of 500 puts of 1 KB (30 MB) under `${prefix}${tag}/`; the server's RSS growth over them (peak − start). */
export async function writeThirtyMegabytes(client: { batch(ops: BatchOperation[]): Promise<unknown> }, pid: number, prefix: string, tag: string): Promise<number> {
  const value = 'x'.repeat(1000);
  const rss0 = rssOf(pid);
  let peak = rss0;
  for (let b = 0; b < 60; b++) {
    await client.batch(Array.from({ length: 500 }, (_, i) => ({ type: 'put' as const, key: `${prefix}${tag}/${b}/${i}`, value })));
    peak = Math.max(peak, rssOf(pid));
  }
  return peak - rss0;
}
