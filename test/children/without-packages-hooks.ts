/** Module resolve hooks that make the packages named at registration look uninstalled (see without-packages.ts). */
type Next = (specifier: string, context: unknown) => Promise<unknown>;

let hidden: string[] = [];

export function initialize(names: string[]): void {
  hidden = names;
}

export async function resolve(specifier: string, context: unknown, next: Next): Promise<unknown> {
  if (hidden.some((name) => specifier === name || specifier.startsWith(`${name}/`))) {
    // Node's own wording and code for a package that is not installed.
    throw Object.assign(new Error(`Cannot find package '${specifier}' imported from the test's hook`), { code: 'ERR_MODULE_NOT_FOUND' });
  }
  return next(specifier, context);
}
