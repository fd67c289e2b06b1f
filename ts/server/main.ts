#!/usr/bin/env node
/**
 * kvstored: opens (and recovers) a data directory and serves it over HTTP (and gRPC, with
 * grpc_port set) until SIGTERM or SIGINT, then stops accepting, finishes the requests in
 * flight, checkpoints, closes the store and exits 0 (130 after SIGINT). `kvstored --help` lists every setting.
 */
import fs from 'node:fs';
import { AuthService } from '../auth/service.js';
import { KvError } from '../errors.js';
import { open } from '../store/store.js';
import { type ServerConfig, helpText, loadConfig } from './config.js';
import { packageVersion } from '../version.js';
import { masterKeyFromConfig } from './master-key-source.js';
import { auditStreamSink } from './audit-stream.js';

type MasterKey = Awaited<ReturnType<typeof masterKeyFromConfig>>;
import { type RunningGrpc, startGrpcServer } from './grpc-server.js';
import { buildServer, type ClusterParts } from './server.js';
import { type BackupServices, startBackupServices } from './backup-services.js';
import type { ClusterView } from './cluster-view.js';
import { ClusterAgent, type StepDown } from '../cluster/agent.js';
import { clusterView } from '../cluster/view.js';
import { readHistory } from '../replication/history-file.js';
import { ReplicationNode, catalogArrived, replicaHandle } from '../replication/node.js';
import { hostname } from 'node:os';

function readOptional(file: string | undefined, field: string): Buffer | undefined {
  if (file === undefined) return undefined;
  try {
    return fs.readFileSync(file);
  } catch (err) {
    throw new KvError('INVALID_ARGUMENT', `config: ${field}: cannot read ${file}: ${(err as Error).message}`);
  }
}

function secretFrom(value: string | undefined, file: string | undefined, field: string): string | undefined {
  if (value !== undefined) return value;
  if (file === undefined) return undefined;
  try {
    return fs.readFileSync(file, 'utf8').replace(/\r?\n$/, '');
  } catch (err) {
    throw new KvError('INVALID_ARGUMENT', `config: ${field}: cannot read ${file}: ${(err as Error).message}`);
  }
}

interface InstanceOptions {
  /** Open as a standby (single-node mode: replica_of is set; cluster mode: etcd decides). */
  standby: boolean;
  /** Cluster mode: before anything waits for the catalog, hand the node to the agent. */
  onNode?: ((node: ReplicationNode) => void) | undefined;
  commitGuard?: (() => void) | undefined;
  cluster?: ClusterParts | undefined;
  view?: ClusterView | undefined;
  adminPassword: string | undefined;
  masterKey: MasterKey;
}

interface Instance {
  node: ReplicationNode;
  log: (level: 'info' | 'warn' | 'error', message: string) => void;
  /** Stops accepting, finishes requests in flight (up to drainMs), closes the server and the store. */
  stop(drainMs: number): Promise<void>;
}

/**
 * One store + server: opened (a primary's first admin created, a standby's catalog awaited),
 * listening. kvstored runs one; in cluster mode main() opens another after a step-down.
 */
async function startInstance(config: ServerConfig, o: InstanceOptions): Promise<Instance> {
  const logLines: Array<[string, string]> = [];
  // Until the server's logger exists, log lines wait here; then they go to it.
  let log = (level: 'info' | 'warn' | 'error', message: string): void => void logLines.push([level, message]);
  const { standby } = o;
  const store = await open({
    dir: config.dataDir, engine: config.engine, durability: config.durability,
    intervalMs: config.intervalMs, shards: config.shards, walSegmentBytes: config.walSegmentBytes, checkpointWalBytes: config.checkpointWalBytes,
    role: standby ? 'standby' : 'primary',
    onLog: (level, message) => log(level, message),
  });
  const node = new ReplicationNode(store, {
    replicaOf: config.replicaOf,
    standby,
    standbyId: config.nodeId ?? config.standbyId ?? `${hostname().replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 50)}-${config.port}`,
    apiKey: secretFrom(config.replicationApiKey, config.replicationApiKeyFile, 'replication_api_key_file'),
    tls: { ca: readOptional(config.replicationCa, 'replication_ca'), cert: readOptional(config.replicationCert, 'replication_cert'), key: readOptional(config.replicationKey, 'replication_key') },
    synchronousStandbys: config.synchronousStandbys,
    synchronousTimeoutMs: config.synchronousTimeoutMs,
    commitGuard: o.commitGuard,
  }, (level, message) => log(level, message));
  store._attachReplica(replicaHandle(node, store));
  // A standby follows at once (its catalog comes from the primary). A primary takes its
  // synchronous-commit gate only after the catalog bootstrap below: on a new directory those
  // writes come before any standby can connect (the system id is made here, and nothing
  // listens yet), so waiting for standbys would only end in SYNC_TIMEOUT, or, with nothing
  // else keeping the event loop alive, in a silent exit.
  if (standby) node.start();
  o.onNode?.(node);
  let auth: AuthService | null = null;
  let generated: { name: string; password: string } | null = null;
  try {
    // A standby's catalog comes from its primary: wait until replication has delivered it.
    if (standby && config.auth) await catalogArrived(store, node, (m) => process.stderr.write(`kvstored: ${m}\n`));
    if (config.auth) {
      const auditSink = auditStreamSink(config.auditStream);
      auth = await AuthService.open(store, { ...(o.masterKey === undefined ? {} : { masterKey: o.masterKey }), ...(auditSink ? { auditSink } : {}) });
      if (!standby) try {
        const first = await auth.createFirstAdmin({ name: config.adminUser, ...(o.adminPassword === undefined ? {} : { password: o.adminPassword }) }, { actor: 'kvstored' });
        if (first.generatedPassword) generated = { name: first.name, password: first.generatedPassword };
      } catch (err) {
        if ((err as KvError).code !== 'ALREADY_EXISTS') throw err;
      }
    }
  } catch (err) {
    await auth?.close().catch(() => undefined);
    await node.stop().catch(() => undefined);
    await store.close();
    throw err;
  }
  if (!standby) node.start();
  node.armCommitGate();
  let backups: BackupServices;
  try {
    backups = await startBackupServices(config, store, (level, message) => log(level, message));
  } catch (err) {
    await auth?.close().catch(() => undefined);
    await node.stop().catch(() => undefined);
    await store.close();
    throw err;
  }
  const server = await buildServer(config, store, auth, node, o.view, o.cluster, backups.hooks);
  const { app } = server;
  if (server.metrics) backups.registerMetrics(server.metrics.registry);
  log = (level, message) => app.log[level](message);
  for (const [level, message] of logLines) app.log[level === 'error' ? 'error' : level === 'warn' ? 'warn' : 'info'](message);
  if (generated) {
    // Shown once, on stderr, never in the JSON log: the catalog keeps only its argon2id hash.
    process.stderr.write(
      `\nkvstored: created the first admin user "${generated.name}" with the generated password:\n\n    ${generated.password}\n\n` +
      'Store it now: it is shown only this once. Set KVSTORE_ADMIN_PASSWORD on first start to choose it instead.\n\n',
    );
  }
  if (!config.auth) app.log.warn('authentication is OFF (--no-auth): every client may read, write and delete everything');

  let grpc: RunningGrpc | null = null;
  const stop = async (drainMs: number): Promise<void> => {
    server.setReady(false);
    grpc?.setReady(false);
    // Order matters on a primary: requests finish, then the last catalog writes (API-key
    // last-use times, deferred audit records), while the standbys still stream (with
    // synchronous standbys those writes wait for them); then app.close() ends each stream
    // after it has sent every record, so a standby has all this node wrote; then the store.
    if (!(await server.drained(drainMs))) app.log.warn('requests still in flight after the request timeout: closing anyway');
    await grpc?.close();
    // A fenced primary's last catalog writes fail FENCED (never acknowledged): not a reason to keep the store open.
    await auth?.close().catch((err: unknown) => app.log.warn({ err }, 'closing the catalog'));
    await app.close();
    // The archive gets everything written before the store closes.
    await backups.stop();
    const t0 = Date.now();
    await store.close();
    app.log.info({ closeMs: Date.now() - t0 }, 'store flushed, checkpointed and closed');
  };

  const address = await app.listen({ host: config.host, port: config.port });
  if (config.grpcPort !== undefined) {
    try {
      grpc = await startGrpcServer(config, config.grpcPort, { store, auth, metrics: server.metrics, limits: server.limits, log: app.log, view: server.router.view });
    } catch (err) {
      await app.close();
      await auth?.close();
      await backups.stop();
      await store.close();
      throw err;
    }
  }
  const { intervalMs, shards, walSegmentBytes, checkpointWalBytes } = config;
  app.log.info({
    url: address, ...(grpc ? { grpc: grpc.url } : {}), dataDir: config.dataDir, engine: store.stats().engine, durability: config.durability,
    tuning: { intervalMs, shards, walSegmentBytes, checkpointWalBytes }, auth: config.auth, tls: config.tlsCert !== undefined,
    role: node.role, ...(config.cluster !== undefined ? { cluster: config.cluster, nodeId: config.nodeId } : {}),
    ...(config.replicaOf !== undefined ? { replicaOf: config.replicaOf, standbyWrites: config.standbyWrites } : { synchronousStandbys: config.synchronousStandbys }),
  }, 'listening');
  return { node, log: (level, message) => app.log[level](message), stop };
}

async function main(): Promise<void> {
  let config: ServerConfig;
  try {
    const parsed = loadConfig(process.argv.slice(2));
    if (parsed.help) {
      process.stdout.write(helpText() + '\n');
      return;
    }
    if (parsed.version) {
      process.stdout.write(`kvstored ${packageVersion()}\n`);
      return;
    }
    config = parsed.config;
  } catch (err) {
    process.stderr.write(`kvstored: ${(err as Error).message}\n`);
    process.exitCode = 2;
    return;
  }
  const adminPassword = secretFrom(config.adminPassword, config.adminPasswordFile, 'admin_password_file');
  const masterKey = await masterKeyFromConfig(config);
  if (config.cluster !== undefined) return runCluster(config, adminPassword, masterKey);

  const instance = await startInstance(config, { standby: config.replicaOf !== undefined, adminPassword, masterKey });
  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) {
      instance.log('warn', `second signal (${signal}): exiting now`);
      process.exit(1);
    }
    stopping = true;
    instance.log('info', `${signal}: shutting down: finishing requests in flight`);
    try {
      await instance.stop(Math.max(config.requestTimeoutMs, 10_000));
      // Ctrl-C (SIGINT) exits 130 as shells report an interrupt; SIGTERM, a service stop, 0.
      process.exitCode = signal === 'SIGINT' ? 130 : 0;
    } catch (err) {
      instance.log('error', `shutdown failed: ${(err as Error).message}`);
      process.exitCode = 1;
    }
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

/**
 * Cluster mode (docs/cluster.md): the agent holds the etcd lease for the whole process; each
 * turn of the loop opens one instance — the first primary of a new cluster (bootstrap), or a
 * standby that the agent points at the leader or promotes in place — and runs it until the
 * agent steps it down (fenced, lost the key, switchover). Then the instance is closed and the
 * next turn reopens the same directory as a standby, which rewinds its unacknowledged tail
 * when it connects to the new primary (wal-receiver.ts), as Patroni restarts PostgreSQL.
 */
async function runCluster(config: ServerConfig, adminPassword: string | undefined, masterKey: MasterKey): Promise<void> {
  const say = (m: string): void => void process.stderr.write(`kvstored: ${m}\n`);
  let log: (level: 'info' | 'warn' | 'error', message: string) => void = (level, m) => say(`${level}: ${m}`);
  const agent = new ClusterAgent({
    cluster: config.cluster!, prefix: config.etcdPrefix, etcd: config.etcd!.split(',').map((e) => e.trim()), nodeId: config.nodeId!,
    advertiseUrl: new URL(config.advertiseUrl!).origin, leaseTtlMs: config.clusterLeaseTtlMs, renewIntervalMs: config.clusterRenewIntervalMs,
    synchronousStandbys: config.synchronousStandbys, log: (level, m) => log(level, m),
  });
  const view = clusterView(agent);
  const parts: ClusterParts = {
    control: agent,
    registerMetrics: (r) => agent.counters.register(r, () => agent.canAcknowledge(), () => agent.leaseTtlMs),
  };
  let stopping = false;
  let interrupted = false;
  let wake: () => void = () => {};
  const stopped = new Promise<void>((resolve) => (wake = resolve));
  const onSignal = (signal: string): void => {
    if (stopping) {
      say(`second signal (${signal}): exiting now`);
      process.exit(1);
    }
    stopping = true;
    interrupted = signal === 'SIGINT';
    log('info', `${signal}: shutting down: finishing requests in flight`);
    wake();
  };
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  process.on('SIGINT', () => onSignal('SIGINT'));
  try {
    const lease = await Promise.race([agent.ensureLease(), stopped.then(() => null)]);
    if (lease) log('info', `cluster ${config.cluster}: node ${config.nodeId} joined with lease ${lease.id} (TTL ${lease.ttlMs} ms granted)`);
    while (!stopping) {
      const fresh = readHistory(config.dataDir) === null;
      let primary = false;
      if (fresh) {
        try {
          primary = await agent.bootstrap();
        } catch (err) {
          say(`cluster: bootstrap check failed: ${(err as Error).message}; retrying`);
          await Promise.race([new Promise((r) => setTimeout(r, 500)), stopped]);
          continue;
        }
      }
      let steppedDown: Promise<StepDown> = new Promise(() => {});
      const instance = await startInstance(config, {
        standby: !primary, adminPassword, masterKey, commitGuard: agent.commitGuard, cluster: parts, view,
        onNode: (node) => void (steppedDown = agent.attach(node)),
      });
      log = instance.log;
      const why = await Promise.race([steppedDown, stopped.then(() => null)]);
      agent.detach();
      if (why) instance.log('warn', `cluster: restarting as a standby (${why.reason})`);
      await instance.stop(why ? 2000 : Math.max(config.requestTimeoutMs, 10_000));
    }
    process.exitCode = interrupted ? 130 : 0;
  } catch (err) {
    log('error', `cluster: ${(err as Error).message}`);
    process.exitCode = 1;
  } finally {
    // Revoking the lease deletes the leader key at once: the next primary need not wait for the TTL.
    await agent.close().catch(() => undefined);
  }
}

main().catch((err: unknown) => {
  const e = err as KvError;
  process.stderr.write(`kvstored: ${e.code ? `${e.code}: ` : ''}${e.message}\n`);
  process.exitCode = 1;
});
