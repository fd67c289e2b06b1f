// Type-checked (tsc --noEmit) by test/pack/run.mjs in the consumer project: CommonJS
// resolution (`require`, which Node serves from the ESM build).
import kv = require('kvstore-plus-plus');
import errors = require('kvstore-plus-plus/errors');

const opened: Promise<kv.Store> = kv.open({ dir: './data', engine: 'auto' });
const err: errors.KvError = new kv.KvError('CLOSED');
const code: kv.ErrorCode = err.code;
export { opened, code };

// @ts-expect-error: dir must be a string
void kv.open({ dir: 1 });
