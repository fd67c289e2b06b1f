/**
 * The few etcd v3 calls cluster mode makes (range, put, delete, txn, lease grant / keep-alive
 * / revoke), over the `etcd3` npm client's gRPC stubs, each with its own deadline so a stopped
 * or partitioned etcd never leaves a call hanging past the lease it is meant to protect.
 *
 * Why `etcd3` (1.1.2, @grpc/grpc-js underneath) and not raw protos: it ships etcd's service
 * definitions and typed stubs, so no .proto files (with their gogoproto imports) are vendored
 * here. Its convenience layers (Lease with automatic keep-alive, Election) are NOT used:
 * fencing needs to know when each keep-alive request was sent. Its fault handling is tuned
 * (below) so a dead member is skipped quickly and a recovered etcd is used at once.
 */
import { ConsecutiveBreaker, circuitBreaker, handleWhen, retry } from 'cockatiel';
import { Etcd3, isRecoverableError, type ICompare, type IRequestOp } from 'etcd3';
import { KvError } from '../errors.js';

export interface KeyValue {
  key: string;
  value: string;
  createRevision: bigint;
  modRevision: bigint;
  /** The lease the key is bound to ('0': none). */
  lease: string;
}

export interface EtcdOptions {
  endpoints: readonly string[];
  /** Deadline of every unary call, ms. */
  callTimeoutMs: number;
  /** Called on every failed call (metrics). */
  onError?: ((op: string, err: Error) => void) | undefined;
}

/** range_end for "every key with this prefix". */
function prefixEnd(prefix: string): Buffer {
  const b = Buffer.from(prefix);
  for (let i = b.length - 1; i >= 0; i--) {
    if (b[i]! < 0xff) {
      const end = Buffer.from(b.subarray(0, i + 1));
      end[i]!++;
      return end;
    }
  }
  return Buffer.from([0]);
}

function kv(k: { key: Buffer; value: Buffer; create_revision: string; mod_revision: string; lease: string }): KeyValue {
  return { key: k.key.toString(), value: k.value.toString(), createRevision: BigInt(k.create_revision), modRevision: BigInt(k.mod_revision), lease: String(k.lease) };
}

export type Compare =
  | { key: string; absent: true }
  | { key: string; modRevision: bigint }
  | { key: string; value: string }
  | { key: string; lease: string };

export type Op = { put: string; value: string; lease?: string | undefined } | { del: string };

export class Etcd {
  readonly #client: Etcd3;
  readonly #o: EtcdOptions;

  constructor(o: EtcdOptions) {
    this.#o = o;
    this.#client = new Etcd3({
      hosts: [...o.endpoints],
      dialTimeout: o.callTimeoutMs,
      // A call that fails on one member is tried on the others (within its one deadline); a
      // member failing 3 times in a row is skipped for 500 ms, not etcd3's default 5 s, which
      // would hold up the first renewal after etcd comes back.
      faultHandling: {
        host: () => circuitBreaker(handleWhen(isRecoverableError), { halfOpenAfter: 500, breaker: new ConsecutiveBreaker(3) }),
        global: retry(handleWhen(isRecoverableError), { maxAttempts: Math.max(1, o.endpoints.length - 1) }),
      },
    });
  }

  #deadline(): { deadline: number } {
    return { deadline: Date.now() + this.#o.callTimeoutMs };
  }

  async #call<T>(op: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      this.#o.onError?.(op, err as Error);
      throw new KvError('UNAVAILABLE', `etcd ${op}: ${(err as Error).message}`, { cause: err });
    }
  }

  async get(key: string): Promise<KeyValue | null> {
    const r = await this.#call('range', () => this.#client.kv.range({ key: Buffer.from(key) }, this.#deadline()));
    const k = r.kvs[0];
    return k ? kv(k) : null;
  }

  /** Every key under prefix, and the store revision the answer is at. */
  async list(prefix: string): Promise<{ kvs: KeyValue[]; revision: bigint }> {
    const r = await this.#call('range', () => this.#client.kv.range({ key: Buffer.from(prefix), range_end: prefixEnd(prefix) }, this.#deadline()));
    return { kvs: r.kvs.map(kv), revision: BigInt(r.header.revision) };
  }

  async put(key: string, value: string, lease?: string): Promise<void> {
    await this.#call('put', () => this.#client.kv.put({ key: Buffer.from(key), value: Buffer.from(value), ...(lease ? { lease } : {}) }, this.#deadline()));
  }

  async del(key: string): Promise<number> {
    const r = await this.#call('delete', () => this.#client.kv.deleteRange({ key: Buffer.from(key) }, this.#deadline()));
    return Number(r.deleted);
  }

  /** One transaction: every comparison holds → the ops run; returns whether they did. */
  async txn(compare: readonly Compare[], ops: readonly Op[]): Promise<boolean> {
    const cmp: ICompare[] = compare.map((c) => {
      const key = Buffer.from(c.key);
      if ('absent' in c) return { key, target: 'Create', result: 'Equal', create_revision: 0 };
      if ('modRevision' in c) return { key, target: 'Mod', result: 'Equal', mod_revision: c.modRevision.toString() };
      if ('value' in c) return { key, target: 'Value', result: 'Equal', value: Buffer.from(c.value) };
      return { key, target: 'Lease', result: 'Equal', lease: c.lease };
    });
    const success: IRequestOp[] = ops.map((o) => ('put' in o
      ? { request_put: { key: Buffer.from(o.put), value: Buffer.from(o.value), ...(o.lease ? { lease: o.lease } : {}) } }
      : { request_delete_range: { key: Buffer.from(o.del) } }));
    const r = await this.#call('txn', () => this.#client.kv.txn({ compare: cmp, success, failure: [] }, this.#deadline()));
    return r.succeeded;
  }

  /** A new lease; returns its id and the TTL etcd granted (it may raise a too-short request to its minimum). */
  async grant(ttlSeconds: number): Promise<{ id: string; ttlSeconds: number }> {
    const r = await this.#call('lease-grant', () => this.#client.leaseClient.leaseGrant({ TTL: ttlSeconds }, this.#deadline()));
    if (r.error) throw new KvError('UNAVAILABLE', `etcd lease-grant: ${r.error}`);
    return { id: String(r.ID), ttlSeconds: Number(r.TTL) };
  }

  /**
   * One keep-alive of the lease on its own stream; resolves with the TTL etcd reset it to (0:
   * the lease is gone). Fails after the call timeout.
   */
  async keepAlive(id: string): Promise<number> {
    return this.#call('lease-keepalive', async () => {
      const stream = await this.#client.leaseClient.leaseKeepAlive(this.#deadline());
      try {
        return await new Promise<number>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error('keep-alive timed out')), this.#o.callTimeoutMs);
          stream.on('data', (res: { TTL: string }) => {
            clearTimeout(timer);
            resolve(Number(res.TTL));
          });
          stream.on('error', (err: Error) => {
            clearTimeout(timer);
            reject(err);
          });
          stream.write({ ID: id });
        });
      } finally {
        stream.end();
      }
    });
  }

  async revoke(id: string): Promise<void> {
    await this.#call('lease-revoke', () => this.#client.leaseClient.leaseRevoke({ ID: id }, this.#deadline()));
  }

  close(): void {
    this.#client.close();
  }
}
