/** Module resolve hooks that make @aws-sdk/* look uninstalled (for the OBJECT_STORE_UNAVAILABLE test). */
type Next = (specifier: string, context: unknown) => Promise<unknown>;

export async function resolve(specifier: string, context: unknown, next: Next): Promise<unknown> {
  if (specifier.startsWith('@aws-sdk/')) throw Object.assign(new Error(`Cannot find package '${specifier}'`), { code: 'ERR_MODULE_NOT_FOUND' });
  return next(specifier, context);
}
