/**
 * kvstored's master key: exactly one of KVSTORE_MASTER_KEY (the environment), master_key_file
 * (a file of mode 0600, or 0640 owned by root) or master_key_command (run with /bin/sh -c,
 * its standard output is the key; like PostgreSQL's ssl_passphrase_command), read by
 * loadMasterKey (ts/auth/master-key.ts). Never a flag: flags show in `ps`.
 *
 * A file or a command is read once at start and then again whenever the catalog names
 * another key (the keyring's loader: a standby follows its primary's rotation once its own
 * file holds the new key) and by POST /v1/admin/master-key/rotate (master-key-route.ts).
 */
import { KvError } from '../errors.js';
import { loadMasterKey, type MasterKeySource } from '../auth/master-key.js';
import type { MasterKeyInput } from '../auth/keyring.js';
import type { ServerConfig } from './config.js';
import type { MasterKeyReload } from './master-key-route.js';

type KeyConfig = Pick<ServerConfig, 'masterKey' | 'masterKeyFile' | 'masterKeyCommand'>;

function sourceOf(config: KeyConfig): MasterKeySource | undefined {
  const given = [config.masterKey !== undefined && 'KVSTORE_MASTER_KEY', config.masterKeyFile !== undefined && 'master_key_file', config.masterKeyCommand !== undefined && 'master_key_command'].filter(Boolean);
  if (given.length > 1) throw new KvError('INVALID_ARGUMENT', `config: give one master key source, not ${given.join(' and ')}`);
  if (config.masterKeyFile !== undefined) return { file: config.masterKeyFile };
  if (config.masterKeyCommand !== undefined) return { command: config.masterKeyCommand };
  return undefined;
}

/** The key for AuthService: the environment's value, or a loader of the file or command, read once now (a bad source stops the start). */
export async function masterKeyFromConfig(config: KeyConfig): Promise<MasterKeyInput | undefined> {
  const source = sourceOf(config);
  if (source === undefined) return config.masterKey;
  let first: Buffer | null = await loadMasterKey(source);
  return async () => {
    const k = first;
    first = null;
    return k ?? loadMasterKey(source);
  };
}

/** How POST /v1/admin/master-key/rotate reads the key again; undefined without a master key. */
export function masterKeyReload(config: KeyConfig): MasterKeyReload | undefined {
  const source = sourceOf(config);
  if (source !== undefined) return { source: 'file' in source ? 'file' : 'command', read: () => loadMasterKey(source) };
  const env = config.masterKey;
  return env === undefined ? undefined : { source: 'environment', read: async () => env };
}
