/** Looking for a secret in a data directory's bytes (secrets.test.ts, replication-secrets.test.ts). */
import fs from 'node:fs';
import path from 'node:path';

/** Every file under dir, as bytes. */
export function allBytes(dir: string): Buffer {
  const out: Buffer[] = [];
  for (const e of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (e.isFile()) out.push(fs.readFileSync(path.join(e.parentPath, e.name)));
  }
  return Buffer.concat(out);
}

/** Every encoding a secret could be found in: raw, base64url, base64, hex. */
export function encodings(secret: Buffer): Buffer[] {
  return [secret, Buffer.from(secret.toString('base64url')), Buffer.from(secret.toString('base64')), Buffer.from(secret.toString('hex'))];
}
