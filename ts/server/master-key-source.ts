/**
 * kvstored's master key: exactly one of KVSTORE_MASTER_KEY (the environment), master_key_file
 * (a file of mode 0600, or 0640 owned by root) or master_key_command (run with /bin/sh -c,
 * its standard output is the key; like PostgreSQL's ssl_passphrase_command), read by
 * loadMasterKey (ts/auth/master-key.ts). Never a flag: flags show in `ps`.
 */
import { KvError } from '../errors.js';
import { loadMasterKey } from '../auth/master-key.js';
import type { ServerConfig } from './config.js';

export async function masterKeyFromConfig(config: Pick<ServerConfig, 'masterKey' | 'masterKeyFile' | 'masterKeyCommand'>): Promise<Buffer | string | undefined> {
  const given = [config.masterKey !== undefined && 'KVSTORE_MASTER_KEY', config.masterKeyFile !== undefined && 'master_key_file', config.masterKeyCommand !== undefined && 'master_key_command'].filter(Boolean);
  if (given.length > 1) throw new KvError('INVALID_ARGUMENT', `config: give one master key source, not ${given.join(' and ')}`);
  if (config.masterKey !== undefined) return config.masterKey;
  if (config.masterKeyFile !== undefined) return loadMasterKey({ file: config.masterKeyFile });
  if (config.masterKeyCommand !== undefined) return loadMasterKey({ command: config.masterKeyCommand });
  return undefined;
}
