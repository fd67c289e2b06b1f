/**
 * The grpc:// transport, loaded on the client's first call rather than with
 * `kvstore-plus-plus/client` (issue 20): @grpc/grpc-js, @grpc/proto-loader and protobufjs are
 * optional peers of this package, so an HTTP-only user neither installs nor loads them. When
 * they are missing, every call fails with PACKAGE_UNAVAILABLE naming them (not retried).
 */
import { importOptional } from '../optional-package.js';
import type { ConnectOptions, Entry, RemoteStats, Transport, TxnResponse, WatchFrame, WhoAmI, WireBatchOp, WireScan, WireTxn, WireWatch } from './types.js';

const GRPC_PACKAGES = ['@grpc/grpc-js', '@grpc/proto-loader', 'protobufjs'] as const;

export class LazyGrpcTransport implements Transport {
  readonly #options: ConnectOptions;
  #inner: Promise<Transport> | undefined;
  #closed = false;

  constructor(o: ConnectOptions) {
    this.#options = o;
  }

  /** The real transport, made once; a failed load is retried on the next call. */
  #get(): Promise<Transport> {
    this.#inner ??= importOptional('the grpc:// client', GRPC_PACKAGES, () => import('./grpc-transport.js')).then(
      ({ GrpcTransport }) => new GrpcTransport(this.#options),
      (err: unknown) => {
        this.#inner = undefined;
        throw err;
      },
    );
    return this.#inner;
  }

  async getEntry(key: Buffer): Promise<Entry | undefined> {
    return (await this.#get()).getEntry(key);
  }

  async put(key: Buffer, value: Buffer, ttlMs: number | undefined, ifVersion: bigint | undefined): Promise<bigint> {
    return (await this.#get()).put(key, value, ttlMs, ifVersion);
  }

  async delete(key: Buffer, ifVersion: bigint | undefined): Promise<boolean> {
    return (await this.#get()).delete(key, ifVersion);
  }

  async incr(key: Buffer, by: bigint): Promise<bigint> {
    return (await this.#get()).incr(key, by);
  }

  async batch(ops: WireBatchOp[]): Promise<bigint> {
    return (await this.#get()).batch(ops);
  }

  async scan(q: WireScan): Promise<{ items: Array<[Buffer, Buffer]>; cursor?: string | Buffer }> {
    return (await this.#get()).scan(q);
  }

  async txn(t: WireTxn): Promise<TxnResponse> {
    return (await this.#get()).txn(t);
  }

  async *watch(q: WireWatch, signal: AbortSignal): AsyncGenerator<WatchFrame> {
    yield* (await this.#get()).watch(q, signal);
  }

  async checkpoint(): Promise<bigint> {
    return (await this.#get()).checkpoint();
  }

  async stats(): Promise<RemoteStats> {
    return (await this.#get()).stats();
  }

  async whoami(): Promise<WhoAmI> {
    return (await this.#get()).whoami();
  }

  async login(name: string, password: string): Promise<{ token: string; expiresAt: number }> {
    return (await this.#get()).login(name, password);
  }

  /** Closes the real transport if one was made; a client that never called loads nothing. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const inner = this.#inner;
    if (inner) await (await inner.catch(() => undefined))?.close();
  }
}
