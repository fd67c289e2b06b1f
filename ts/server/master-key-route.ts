/**
 * POST /v1/admin/master-key/rotate: re-seals every catalog secret online under the key that
 * the server's own master key source gives *now* (master_key_file read again, or
 * master_key_command run again), so no key ever crosses the network. The operator puts the
 * new key where the source reads it, then calls this (`kvctl --url … admin
 * rotate-master-key`); AuthService.rotateMasterKey re-seals in one audited batch. A key from
 * KVSTORE_MASTER_KEY cannot change while kvstored runs, so that source is refused with the
 * offline procedure named. docs/security.md, "Master key".
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AuthService } from '../auth/service.js';
import { keyId, parseMasterKey } from '../auth/seal.js';
import { KvError } from '../errors.js';
import * as S from './api-schemas.js';

/** Where kvstored's master key comes from, and how to read it again. */
export interface MasterKeyReload {
  source: 'file' | 'command' | 'environment';
  read(): Promise<Buffer | string>;
}

type Ctx = (request: FastifyRequest) => { actor: string; ip: string };

export function masterKeyRoute(admin: FastifyInstance, auth: AuthService, reload: MasterKeyReload | undefined, ctx: Ctx): void {
  admin.post('/master-key/rotate', {
    schema: {
      operationId: 'rotateMasterKey', tags: ['catalog'],
      summary: "Re-seal every catalog secret under the key the server's master key source gives now (master_key_file or master_key_command, read again)",
      response: { 200: S.json('Rotated, or unchanged when the source still gives the current key', S.MasterKeyRotation) },
    },
  }, async (request) => {
    const { sealed, masterKeyId } = auth.sealing;
    if (!reload || !sealed || masterKeyId === null) {
      throw new KvError('MASTER_KEY_REQUIRED', 'kvstored runs without a master key, so the catalog is not sealed: restart it with master_key_file or master_key_command (that seals it)');
    }
    if (reload.source === 'environment') {
      throw new KvError('INVALID_ARGUMENT', 'the master key comes from KVSTORE_MASTER_KEY, which cannot change while kvstored runs: use master_key_file or master_key_command, or rotate offline (kvctl --data-dir DIR admin rotate-master-key with kvstored stopped)');
    }
    const next = await reload.read();
    const to = keyId(parseMasterKey(next));
    if (to === masterKeyId) return { rotated: false, from: masterKeyId, to };
    const r = await auth.rotateMasterKey(next, ctx(request));
    return { rotated: true, ...r };
  });
}
