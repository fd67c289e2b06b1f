/**
 * A TCP proxy on loopback that a test controls, to make network partitions without root:
 * clients connect to the proxy's port, the proxy connects to the target and copies bytes
 * both ways. `cut()` partitions, `heal()` ends the partition.
 *
 * Two ways to cut, as networks fail:
 * - 'reset': every open connection is reset (RST), and new connections are accepted and
 *   reset at once: the peer sees ECONNRESET / ECONNREFUSED-like failures straight away.
 * - 'drop': a blackhole. Open connections stop moving bytes (both sockets stop being read,
 *   so nothing is lost: what was sent waits in the kernel's buffers, as unacknowledged
 *   segments wait for retransmission); new connections are accepted and held without a
 *   connection to the target. The peer sees nothing, only its own timeouts. On heal the
 *   held connections are connected and everything flows again, as after a real partition
 *   that ended before either side timed out. (Without root a SYN cannot be dropped, so a
 *   new connection's connect() succeeds; only its bytes go nowhere.)
 *
 * Bounded: at most `maxConnections` connections at once (more are reset), and `close()`
 * destroys everything. Loopback only.
 */
import net from 'node:net';

export type CutMode = 'reset' | 'drop';

export interface ProxyTarget {
  host: string;
  port: number;
}

export interface ProxyOptions {
  /** Most connections open at once; more are reset on accept. Default 512. */
  maxConnections?: number;
  /** Listen on this port (default: any free port). */
  port?: number;
}

interface Pair {
  client: net.Socket;
  upstream: net.Socket | undefined;
}

export class TcpProxy {
  readonly #server: net.Server;
  readonly #pairs = new Set<Pair>();
  readonly #max: number;
  #target: ProxyTarget;
  #cut: CutMode | undefined;
  #closed = false;
  /** Connections accepted so far (counted whatever happened to them). */
  accepted = 0;
  /** Connections reset or held because the proxy was cut. */
  refused = 0;

  private constructor(server: net.Server, target: ProxyTarget, max: number) {
    this.#server = server;
    this.#target = target;
    this.#max = max;
    server.on('connection', (s) => this.#accept(s));
  }

  /** Starts a proxy on 127.0.0.1 forwarding to target. */
  static async start(target: ProxyTarget | string, opts: ProxyOptions = {}): Promise<TcpProxy> {
    const server = net.createServer({ pauseOnConnect: true, allowHalfOpen: true });
    const proxy = new TcpProxy(server, parseTarget(target), opts.maxConnections ?? 512);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port ?? 0, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    return proxy;
  }

  get port(): number {
    return (this.#server.address() as net.AddressInfo).port;
  }

  /** `http://127.0.0.1:<port>` (or another scheme). */
  url(scheme = 'http'): string {
    return `${scheme}://127.0.0.1:${this.port}`;
  }

  get isCut(): CutMode | undefined {
    return this.#cut;
  }

  /** Connections open now (held ones included). */
  get open(): number {
    return this.#pairs.size;
  }

  /** Forward new connections to another target (open ones keep theirs). */
  setTarget(target: ProxyTarget | string): void {
    this.#target = parseTarget(target);
  }

  /** Partitions: see the file comment for the two modes. Idempotent; cutting again switches mode. */
  cut(mode: CutMode = 'reset'): void {
    this.#cut = mode;
    for (const p of [...this.#pairs]) {
      if (mode === 'reset') this.#reset(p);
      else {
        p.client.pause();
        p.upstream?.pause();
      }
    }
  }

  /** Ends the partition: held connections are connected/resumed, new ones are forwarded. */
  heal(): void {
    this.#cut = undefined;
    for (const p of [...this.#pairs]) {
      if (p.upstream) {
        p.client.resume();
        p.upstream.resume();
      } else this.#connect(p);
    }
  }

  /** Stops listening and destroys every connection. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const p of [...this.#pairs]) this.#reset(p);
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #accept(client: net.Socket): void {
    this.accepted++;
    client.on('error', () => undefined);
    if (this.#closed || this.#pairs.size >= this.#max || this.#cut === 'reset') {
      if (this.#cut === 'reset') this.refused++;
      client.resetAndDestroy();
      return;
    }
    const pair: Pair = { client, upstream: undefined };
    this.#pairs.add(pair);
    client.on('close', () => this.#drop(pair));
    if (this.#cut === 'drop') {
      this.refused++;
      return; // held, paused (pauseOnConnect), until heal()
    }
    this.#connect(pair);
  }

  #connect(pair: Pair): void {
    const { client } = pair;
    const up = net.connect({ host: this.#target.host, port: this.#target.port, allowHalfOpen: true });
    pair.upstream = up;
    up.on('error', () => undefined);
    up.on('close', () => this.#drop(pair));
    // Copied by hand rather than with pipe(): pipe() resumes a source on 'drain', which
    // would let bytes through a 'drop' cut.
    const flowing = (): boolean => this.#cut !== 'drop' && this.#pairs.has(pair);
    client.on('data', (chunk: Buffer) => {
      if (!up.write(chunk)) client.pause();
    });
    up.on('data', (chunk: Buffer) => {
      if (!client.write(chunk)) up.pause();
    });
    up.on('drain', () => void (flowing() && client.resume()));
    client.on('drain', () => void (flowing() && up.resume()));
    client.on('end', () => up.end());
    up.on('end', () => client.end());
    if (flowing()) {
      client.resume();
      up.resume();
    } else up.pause();
  }

  /** One side closed or failed: close the other (reset if the failing side was reset). */
  #drop(pair: Pair): void {
    if (!this.#pairs.delete(pair)) return;
    const hadError = pair.client.errored !== null || (pair.upstream?.errored ?? null) !== null;
    for (const s of [pair.client, pair.upstream]) {
      if (!s || s.destroyed) continue;
      if (hadError) s.resetAndDestroy();
      else s.end();
      // A peer that never reads cannot hold a half-closed socket open forever.
      setTimeout(() => s.destroy(), 2_000).unref();
    }
  }

  #reset(pair: Pair): void {
    this.#pairs.delete(pair);
    pair.client.resetAndDestroy();
    pair.upstream?.resetAndDestroy();
  }
}

function parseTarget(t: ProxyTarget | string): ProxyTarget {
  if (typeof t !== 'string') return t;
  const u = new URL(t.includes('://') ? t : `tcp://${t}`);
  const port = Number(u.port);
  if (!Number.isInteger(port) || port <= 0) throw new Error(`proxy target ${t} has no port`);
  return { host: u.hostname, port };
}
