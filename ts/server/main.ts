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
import { type RunningGrpc, startGrpcServer } from './grpc-server.js';
import { buildServer } from './server.js';
import { ReplicationNode, catalogArrived, replicaHandle } from '../replication/node.js';
import { hostname } from 'node:os';
import { startBackupServices } from './backup-services.js';

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
  const masterKey = secretFrom(config.masterKey, config.masterKeyFile, 'master_key_file');

  const logLines: Array<[string, string]> = [];
  // Until the server's logger exists, log lines wait here; then they go to it.
  let log = (level: 'info' | 'warn' | 'error', message: string): void => void logLines.push([level, message]);
  const standby = config.replicaOf !== undefined;
  const store = await open({
    dir: config.dataDir, engine: config.engine, durability: config.durability,
    intervalMs: config.intervalMs, shards: config.shards, walSegmentBytes: config.walSegmentBytes, checkpointWalBytes: config.checkpointWalBytes,
    role: standby ? 'standby' : 'primary',
    onLog: (level, message) => log(level, message),
  });
  const node = new ReplicationNode(store, {
    replicaOf: config.replicaOf,
    standbyId: config.standbyId ?? `${hostname().replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 50)}-${config.port}`,
    apiKey: secretFrom(config.replicationApiKey, config.replicationApiKeyFile, 'replication_api_key_file'),
    tls: { ca: readOptional(config.replicationCa, 'replication_ca'), cert: readOptional(config.replicationCert, 'replication_cert'), key: readOptional(config.replicationKey, 'replication_key') },
    synchronousStandbys: config.synchronousStandbys,
    synchronousTimeoutMs: config.synchronousTimeoutMs,
  }, (level, message) => log(level, message));
  store._attachReplica(replicaHandle(node, store));
  // A standby follows at once (its catalog comes from the primary). A primary takes its
  // synchronous-commit gate only after the catalog bootstrap below: on a new directory those
  // writes come before any standby can connect (the system id is made here, and nothing
  // listens yet), so waiting for standbys would only end in SYNC_TIMEOUT, or, with nothing
  // else keeping the event loop alive, in a silent exit.
  if (standby) node.start();
  let auth: AuthService | null = null;
  let generated: { name: string; password: string } | null = null;
  try {
    // A standby's catalog comes from its primary: wait until replication has delivered it.
    if (standby && config.auth) await catalogArrived(store, node, (m) => process.stderr.write(`kvstored: ${m}\n`));
    if (config.auth) {
      auth = await AuthService.open(store, masterKey === undefined ? {} : { masterKey });
      if (!standby) try {
        const first = await auth.createFirstAdmin({ name: config.adminUser, ...(adminPassword === undefined ? {} : { password: adminPassword }) }, { actor: 'kvstored' });
        if (first.generatedPassword) generated = { name: first.name, password: first.generatedPassword };
      } catch (err) {
        if ((err as KvError).code !== 'ALREADY_EXISTS') throw err;
      }
    }
  } catch (err) {
    await auth?.close().catch(() => undefined);
    await store.close();
    throw err;
  }
  if (!standby) node.start();
  node.armCommitGate();
  let backups;
  try {
    backups = await startBackupServices(config, store, (level, message) => log(level, message));
  } catch (err) {
    await auth?.close().catch(() => undefined);
    await store.close();
    throw err;
  }
  const server = await buildServer(config, store, auth, node, backups.hooks);
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
  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) {
      app.log.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    server.setReady(false);
    grpc?.setReady(false);
    app.log.info({ signal }, 'shutting down: finishing requests in flight');
    try {
      // Order matters on a primary: requests finish, then the last catalog writes (API-key
      // last-use times, deferred audit records), while the standbys still stream (with
      // synchronous standbys those writes wait for them); then app.close() ends each stream
      // after it has sent every record, so a standby has all this node wrote; then the store.
      if (!(await server.drained(Math.max(config.requestTimeoutMs, 10_000)))) app.log.warn('requests still in flight after the request timeout: closing anyway');
      await grpc?.close();
      await auth?.close();
      await app.close();
      // The archive gets everything written before the store closes.
      await backups.stop();
      const t0 = Date.now();
      await store.close();
      app.log.info({ closeMs: Date.now() - t0 }, 'store flushed, checkpointed and closed');
      // Ctrl-C (SIGINT) exits 130 as shells report an interrupt; SIGTERM, a service stop, 0.
      process.exitCode = signal === 'SIGINT' ? 130 : 0;
    } catch (err) {
      app.log.error({ err }, 'shutdown failed');
      process.exitCode = 1;
    }
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));

  const address = await app.listen({ host: config.host, port: config.port });
  if (config.grpcPort !== undefined) {
    try {
      grpc = await startGrpcServer(config, config.grpcPort, { store, auth, metrics: server.metrics, limits: server.limits, log: app.log });
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
    role: node.role, ...(standby ? { replicaOf: config.replicaOf } : { synchronousStandbys: config.synchronousStandbys }),
  }, 'listening');
}

main().catch((err: unknown) => {
  const e = err as KvError;
  process.stderr.write(`kvstored: ${e.code ? `${e.code}: ` : ''}${e.message}\n`);
  process.exitCode = 1;
});
