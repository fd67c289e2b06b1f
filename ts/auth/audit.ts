/**
 * The audit log seen from AuthService: reading (pages newest first, or an iterator oldest
 * first from a time, for `kvctl audit tail|export --since`), streaming to a sink (one JSON
 * line per record, for stdout, syslog or a SIEM), and retention: pruning the oldest records
 * past the bounds in the settings (auditMaxRecords, auditMaxAgeDays, auditMaxBytes), in small
 * batches on a background timer, each batch one ordinary catalog change (so writes go on
 * between batches).
 */
import type { AuditEntry, AuditReadOptions } from '../catalog/catalog.js';
import { pruneBatch } from '../catalog/audit-log.js';
import { checkOptions, optionNames } from '../options.js';
import type { AuthCore } from './core.js';

/** Receives every audit record this service's catalog commits, once durable, and the record as one line of JSON. */
export type AuditSink = (entry: AuditEntry, line: string) => void;

/** Audit records deleted per batch: small, so one prune step holds the catalog lock no longer than a grant does. */
export const PRUNE_BATCH = 256;
/** Batches per prune() call at most; the timer comes back for the rest. */
const PRUNE_MAX_BATCHES = 400;

export const READ_NAMES = optionNames<AuditReadOptions>({ since: true, after: true, limit: true });

export function readAudit(core: AuthCore, options: AuditReadOptions): Generator<AuditEntry> {
  checkOptions('readAudit', options, READ_NAMES);
  core.state();
  return core.catalog.readAudit(options);
}

/** Registers `sink`; a sink that throws is counted (stats().auditSinkErrors) and never fails the change. */
export function attachSink(core: AuthCore, sink: AuditSink): () => void {
  return core.catalog.onAudit((entries) => {
    for (const e of entries) {
      try {
        sink(e, JSON.stringify(e));
      } catch {
        core.stats.auditSinkErrors++;
      }
    }
  });
}

/**
 * Deletes the oldest records past the retention bounds, PRUNE_BATCH at a time, yielding to
 * the event loop between batches. Returns how many it deleted.
 */
export async function pruneAudit(core: AuthCore): Promise<number> {
  let total = 0;
  for (let i = 0; i < PRUNE_MAX_BATCHES && !core.closed; i++) {
    const n = await core.mutate((s, now) => {
      const items = pruneBatch(core.catalog.sys, s.auditStats, s.settings, now, PRUNE_BATCH);
      return { changes: [], audit: [], prune: items, result: items.length, bumpEpoch: false };
    });
    total += n;
    core.stats.auditPruned += n;
    if (n < PRUNE_BATCH) break;
    await new Promise((r) => setImmediate(r));
  }
  return total;
}

/** Runs pruneAudit every `intervalMs` (0 = never) until stopped; errors wait for the next round. */
export function startRetention(core: AuthCore, intervalMs: number): () => void {
  if (intervalMs <= 0) return () => undefined;
  let running = false;
  const timer = setInterval(() => {
    if (running || core.closed) return;
    running = true;
    void pruneAudit(core).catch(() => undefined).finally(() => (running = false));
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
