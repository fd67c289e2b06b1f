/**
 * Starts one of the command-line programs (kvstored, kvctl, kvb) for the
 * kvstore-plus-plus-server package's bin shims (issue 20). Their libraries (fastify, commander,
 * etcd3, …) are optional peers of kvstore-plus-plus, installed by kvstore-plus-plus-server, not
 * by an embedded `npm install kvstore-plus-plus`. When one is missing, the program's import
 * fails while linking, before any of it runs: that is turned into one line saying what to
 * install and exit status 1, never an ERR_MODULE_NOT_FOUND stack.
 */
import { SERVER_PACKAGE, missingPackage } from '../optional-package.js';

/** Imports `load()` (a module that runs its program on import); explains a missing dependency. */
export async function launch(program: string, load: () => Promise<unknown>): Promise<void> {
  try {
    await load();
  } catch (err) {
    const pkg = missingPackage(err);
    if (pkg === undefined) throw err;
    process.stderr.write(`${program}: the package ${pkg} is not installed; ${program} comes with the server package: npm install ${SERVER_PACKAGE}\n`);
    process.exitCode = 1;
  }
}
