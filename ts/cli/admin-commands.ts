/**
 * kvctl admin rotate-master-key: re-seals every catalog secret under a new master key, in one
 * atomic catalog change, audited (master_key.rotate).
 * - Online, with --url: the server reads its own master key source again (master_key_file or
 *   master_key_command, which the operator has pointed at the new key) and re-seals under it
 *   (POST /v1/admin/master-key/rotate); no key crosses the network.
 * - Offline, on --data-dir with the server stopped: both keys come from files (mode 0600) or
 *   commands, never from flags.
 */
import { type Command, Option } from 'commander';
import { AuthService } from '../auth/service.js';
import { loadMasterKey, type MasterKeySource } from '../auth/master-key.js';
import { open } from '../store/open.js';
import type { EngineKind } from '../store/options.js';
import type { ApiClient } from './http-api.js';
import { usage } from './common.js';
import { lockHolder, requireDir } from './datadir.js';

export interface AdminContext {
  dataDir(cmd: Command): string | undefined;
  serverUrl(cmd: Command): string | undefined;
  engine(cmd: Command): EngineKind;
  emit(cmd: Command, data: unknown, text: () => string): void;
  apiClient(cmd: Command, url: string): ApiClient;
}

interface Rotation {
  rotated: boolean;
  from: string;
  to: string;
}

function source(file: string | undefined, command: string | undefined, env: string, which: string): MasterKeySource {
  if (file !== undefined && command !== undefined) throw usage(`give the ${which} master key as a file or a command, not both`);
  if (file !== undefined) return { file };
  if (command !== undefined) return { command };
  if (process.env[env]) return { env };
  throw usage(`the ${which} master key is needed: --${which}-key-file, --${which}-key-command or ${env}`);
}

export function addAdminCommands(program: Command, ctx: AdminContext): void {
  const admin = program.command('admin').description('master key administration');
  admin
    .command('rotate-master-key')
    .description('re-seal every catalog secret under a new master key: with --url, the key the server\'s master_key_file or master_key_command gives now; with --data-dir (the server stopped), the key of --new-key-file or --new-key-command')
    .addOption(new Option('--old-key-file <file>', 'the current master key (mode 0600)'))
    .addOption(new Option('--old-key-command <cmd>', 'a command that prints the current master key'))
    .addOption(new Option('--new-key-file <file>', 'the new master key (mode 0600)'))
    .addOption(new Option('--new-key-command <cmd>', 'a command that prints the new master key'))
    .action(async (o: { oldKeyFile?: string; oldKeyCommand?: string; newKeyFile?: string; newKeyCommand?: string }, cmd: Command) => {
      const url = ctx.serverUrl(cmd);
      const dir = ctx.dataDir(cmd);
      if (url && dir) throw usage('give --url (online: the server reads its own master key source again) or --data-dir (offline), not both');
      if (url) {
        if ([o.oldKeyFile, o.oldKeyCommand, o.newKeyFile, o.newKeyCommand].some((x) => x !== undefined)) {
          throw usage('with --url no key is sent: put the new key where the server\'s master_key_file or master_key_command reads it, then run this again without key options');
        }
        const r = await ctx.apiClient(cmd, url).json<Rotation>('POST', '/v1/admin/master-key/rotate');
        ctx.emit(cmd, r, () => (r.rotated ? `master key rotated: key id ${r.from} → ${r.to}\n` : `master key unchanged: the server's master key source still gives key id ${r.to}\n`));
        return;
      }
      if (!dir) throw usage('where? give --url for a running server, or --data-dir for a data directory with the server stopped');
      requireDir(dir);
      const held = lockHolder(dir);
      if (held !== null) throw usage(`${dir} is in use by process ${held}: stop kvstored first, rotate, then start it with the new key`);
      const oldKey = await loadMasterKey(source(o.oldKeyFile, o.oldKeyCommand, 'KVCTL_MASTER_KEY', 'old'));
      const newKey = await loadMasterKey(source(o.newKeyFile, o.newKeyCommand, 'KVCTL_NEW_MASTER_KEY', 'new'));
      const store = await open({ dir, engine: ctx.engine(cmd) });
      try {
        const auth = await AuthService.open(store, { masterKey: oldKey });
        try {
          const r = await auth.rotateMasterKey(newKey, { actor: 'kvctl' });
          ctx.emit(cmd, r, () => `master key rotated: key id ${r.from} → ${r.to}; start kvstored with the new key\n`);
        } finally {
          await auth.close();
        }
      } finally {
        await store.close();
      }
    });
}
