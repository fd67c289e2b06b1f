// Type-checked (tsc --noEmit) by test/pack/run.mjs in the consumer project: ESM resolution.
import { ERRORS, KvError, open, type ErrorCode, type OpenOptions, type Store } from 'kvstore-plus-plus';
import * as errors from 'kvstore-plus-plus/errors';

const options: OpenOptions = { dir: './data', engine: 'native', durability: 'interval', intervalMs: 50 };
const db: Store = await open(options);
const value: Buffer | undefined = db.get('user:1');
const { version } = await db.put('user:1', 'ada', { ifVersion: 0n });
const next: bigint = await db.incr('visits');
const code: ErrorCode = 'NATIVE_UNAVAILABLE';
const status: number = ERRORS[code].status;
const sameClass: typeof KvError = errors.KvError;
export { value, version, next, status, sameClass };

// @ts-expect-error: misspelled option names are type errors
await open({ dir: './data', engin: 'native' });
// @ts-expect-error: engine is 'auto' | 'native' | 'js'
await open({ dir: './data', engine: 'rust' });
// @ts-expect-error: the package's internals are not exported
await import('kvstore-plus-plus/dist/ts/binding.js');
