/**
 * Optional peer packages (issue 20, "light embedded install"): the server's libraries are not
 * installed with `npm install kvstore-plus-plus`, yet a few public APIs of the main package use
 * them lazily (AuthService: @node-rs/argon2 and jose; the client's grpc:// transport:
 * @grpc/grpc-js, @grpc/proto-loader, protobufjs). Such an import goes through here, so its
 * absence is a PACKAGE_UNAVAILABLE KvError that names what to install, not a bare
 * ERR_MODULE_NOT_FOUND. Any other failure (a package that is there but broken) is rethrown as is.
 */
import { KvError } from './errors.js';

/** The package that installs every optional dependency the server and the CLIs need. */
export const SERVER_PACKAGE = 'kvstore-plus-plus-server';

/**
 * The package a failed `import()` could not find (Node's ERR_MODULE_NOT_FOUND for a bare
 * specifier), or undefined for any other failure, a missing file inside a package included.
 */
export function missingPackage(err: unknown): string | undefined {
  const e = err as { code?: unknown; message?: unknown } | null;
  if (e?.code !== 'ERR_MODULE_NOT_FOUND' || typeof e.message !== 'string') return undefined;
  return /Cannot find package '([^']+)'/.exec(e.message)?.[1];
}

/**
 * `load()` (a literal `import('pkg')`, so the module's types are kept), or PACKAGE_UNAVAILABLE
 * when one of `packages` is not installed. `feature` says what needed it, e.g. "password hashing".
 */
export async function importOptional<T>(feature: string, packages: readonly string[], load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (err) {
    if (missingPackage(err) === undefined) throw err;
    const list = packages.join(' ');
    throw new KvError(
      'PACKAGE_UNAVAILABLE',
      `${feature} needs the optional package${packages.length > 1 ? 's' : ''} ${list}, which ${packages.length > 1 ? 'are' : 'is'} not installed: ` +
        `npm install ${list} (or npm install ${SERVER_PACKAGE}, which brings every server dependency)`,
      { cause: err },
    );
  }
}
