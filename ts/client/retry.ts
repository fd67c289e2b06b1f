/**
 * Bounded retries for both transports. A transport marks an error retryable only when the
 * server refused the request before doing anything (kvstored's RATE_LIMITED and NOT_READY,
 * or a 429 / 503 from something in front of it that carries no kvstore code), with the wait
 * the server asked for (Retry-After) when it gave one. Anything else — a timeout, a reset
 * connection, IO_ERROR — may have been applied, and is never retried here: an incr retried
 * blindly would count twice.
 */
import type { ErrorCode, KvError } from '../errors.js';
import type { RetryOptions } from './types.js';

/**
 * kvstored's codes for a request refused before anything was done: RATE_LIMITED, NOT_READY
 * (shutting down), NOT_PRIMARY (no primary right now, or a forwarded write reached a node that
 * is not the primary), FORWARD_FAILED (a standby could not reach the primary: nothing was
 * sent), READ_INDEX_TIMEOUT (a read). Never OUTCOME_UNKNOWN.
 */
export const REFUSED_BEFORE_ACTING: ReadonlySet<ErrorCode> = new Set(['RATE_LIMITED', 'NOT_READY', 'NOT_PRIMARY', 'FORWARD_FAILED', 'READ_INDEX_TIMEOUT']);

const hints = new WeakMap<KvError, { retryAfterMs: number | undefined }>();

/** Marks `err` as safe to send again, after `retryAfterMs` if the server said. */
export function retryable(err: KvError, retryAfterMs?: number): KvError {
  hints.set(err, { retryAfterMs });
  return err;
}

/** A Retry-After value (delta-seconds or an HTTP date) in ms; undefined when absent or unreadable. */
export function parseRetryAfter(v: string | undefined, now = Date.now()): number | undefined {
  if (v === undefined || v === '') return undefined;
  if (/^\d+$/.test(v.trim())) return Number(v.trim()) * 1000;
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : Math.max(0, t - now);
}

export interface RetryPolicy {
  retries: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export function retryPolicy(o: RetryOptions = {}): RetryPolicy {
  return { retries: o.retries ?? 3, baseDelayMs: o.baseDelayMs ?? 50, maxDelayMs: o.maxDelayMs ?? 5000 };
}

/**
 * The wait before try `attempt` (1 = the first retry), or undefined to give up: out of
 * tries, not retryable, or a Retry-After beyond maxDelayMs.
 */
export function retryDelay(err: KvError, attempt: number, p: RetryPolicy, random = Math.random): number | undefined {
  const hint = hints.get(err);
  if (!hint || attempt > p.retries) return undefined;
  if (hint.retryAfterMs !== undefined) return hint.retryAfterMs <= p.maxDelayMs ? hint.retryAfterMs : undefined;
  return Math.min(p.maxDelayMs, p.baseDelayMs * 2 ** (attempt - 1)) * random();
}

/** Runs `fn`, again after each retryable failure as the policy allows. */
export async function withRetry<T>(p: RetryPolicy, fn: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      const wait = retryDelay(err as KvError, attempt, p);
      if (wait === undefined) throw err;
      await new Promise((r) => setTimeout(r, wait));
    }
  }
}
