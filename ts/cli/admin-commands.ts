/**
 * kvctl admin rotate-master-key: re-seals every secret of a data directory's catalog under a
 * new master key, in one atomic catalog change, audited (master_key.rotate). Offline, on
 * --data-dir (the server stopped: kvstored reads its key at start, so a running server would
 * keep the old one). Both keys come from files (mode 0600) or commands, never from flags.
 */
import { type Command, Option } from 'commander';
import { AuthService } from '../auth/service.js';
import { loadMasterKey, type MasterKeySource } from '../auth/master-key.js';
import { open } from '../store/open.js';
import type { EngineKind } from '../store/options.js';
import { usage } from './common.js';
import { lockHolder, requireDir } from './datadir.js';

export interface AdminContext {
  dataDir(cmd: Command): string | undefined;
  serverUrl(cmd: Command): string | undefined;
  engine(cmd: Command): EngineKind;
  emit(cmd: Command, data: unknown, text: () => string): void;
}

function source(file: string | undefined, command: string | undefined, env: string, which: string): MasterKeySource {
  if (file !== undefined && command !== undefined) throw usage(`give the ${which} master key as a file or a command, not both`);
  if (file !== undefined) return { file };
  if (command !== undefined) return { command };
  if (process.env[env]) return { env };
  throw usage(`the ${which} master key is needed: --${which}-key-file, --${which}-key-command or ${env}`);
}

export function addAdminCommands(program: Command, ctx: AdminContext): void {
  const admin = program.command('admin').description('data-directory administration (offline)');
  admin
    .command('rotate-master-key')
    .description('re-seal every catalog secret under a new master key (on --data-dir, the server stopped); then start kvstored with the new key')
    .addOption(new Option('--old-key-file <file>', 'the current master key (mode 0600)'))
    .addOption(new Option('--old-key-command <cmd>', 'a command that prints the current master key'))
    .addOption(new Option('--new-key-file <file>', 'the new master key (mode 0600)'))
    .addOption(new Option('--new-key-command <cmd>', 'a command that prints the new master key'))
    .action(async (o: { oldKeyFile?: string; oldKeyCommand?: string; newKeyFile?: string; newKeyCommand?: string }, cmd: Command) => {
      const dir = ctx.dataDir(cmd);
      if (!dir || ctx.serverUrl(cmd)) throw usage('rotate-master-key works on a data directory (--data-dir) with the server stopped: kvstored reads its master key at start');
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
