/**
 * TLS for kvctl and kvb, curl's way: --cacert (a CA bundle the server's certificate must
 * chain to, for a private CA), --cert and --key (a client certificate and its key, for a
 * server that requires one: kvstored's tls_require_client_cert). Each falls back to an
 * environment variable, <PROG>_TLS_CA, <PROG>_TLS_CERT, <PROG>_TLS_KEY (KVCTL_… or KVB_…).
 * The files are read once at start; a missing or unreadable one is a usage error (exit 2),
 * as is a certificate without its key or TLS options with an http:// URL.
 */
import fs from 'node:fs';
import type { Command } from 'commander';
import { usage } from './common.js';

/** The PEM contents, ready for tls.connect() (undici's `connect` options take the same). */
export interface TlsMaterial {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

export interface TlsFlags {
  cacert?: string;
  cert?: string;
  key?: string;
}

type Prog = 'KVCTL' | 'KVB';

export const tlsEnv = (prog: Prog): { ca: string; cert: string; key: string } => ({ ca: `${prog}_TLS_CA`, cert: `${prog}_TLS_CERT`, key: `${prog}_TLS_KEY` });

/** Adds --cacert, --cert, --key to a command (kvctl: the program, for every subcommand). */
export function addTlsOptions(cmd: Command, prog: Prog): Command {
  const env = tlsEnv(prog);
  return cmd
    .option('--cacert <file>', `CA certificate(s), PEM, that the server's certificate must chain to (default: $${env.ca})`)
    .option('--cert <file>', `client certificate, PEM, for a server that requires one (mutual TLS; default: $${env.cert})`)
    .option('--key <file>', `the client certificate's private key, PEM (default: $${env.key})`);
}

function read(flag: string, file: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (err) {
    throw usage(`${flag}: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/**
 * The TLS material for `url` from the flags, else the environment; null when none is given
 * (the platform's default CAs then apply, and no client certificate is sent).
 */
export function loadTls(prog: Prog, flags: TlsFlags, url: string, env: NodeJS.ProcessEnv = process.env): TlsMaterial | null {
  const names = tlsEnv(prog);
  /** [where it came from, file] */
  const pick = (value: string | undefined, flag: string, name: string): [string, string] | undefined => {
    if (value) return [flag, value];
    const v = env[name]?.trim();
    return v ? [name, v] : undefined;
  };
  const ca = pick(flags.cacert, '--cacert', names.ca);
  const cert = pick(flags.cert, '--cert', names.cert);
  const key = pick(flags.key, '--key', names.key);
  if (!ca && !cert && !key) return null;
  if (!cert !== !key) throw usage(`a client certificate needs its key: give both --cert and --key (or ${names.cert} and ${names.key})`);
  if (!url.startsWith('https:')) throw usage(`--cacert, --cert and --key (${names.ca}, ${names.cert}, ${names.key}) are for an https:// server; the URL is ${url}`);
  return { ...(ca ? { ca: read(ca[0], ca[1]) } : {}), ...(cert ? { cert: read(cert[0], cert[1]) } : {}), ...(key ? { key: read(key[0], key[1]) } : {}) };
}

/** Error codes of a failed TLS handshake: worth a hint about --cacert / --cert. */
export function isTlsFailure(code: string | undefined): boolean {
  return code !== undefined && /CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|ECONNRESET|EPROTO/.test(code);
}

export function tlsHint(prog: Prog): string {
  const n = tlsEnv(prog);
  return `a TLS problem? --cacert (${n.ca}) for a server with a private CA; --cert and --key (${n.cert}, ${n.key}) for one that requires a client certificate`;
}
