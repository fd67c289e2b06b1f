export { open, Store } from './store/store.js';
export type { Entry, PutOptions, DeleteOptions, BatchOperation, ScanOptions, StoreStats } from './store/store.js';
export type { OpenOptions, Durability, EngineKind } from './store/options.js';
export type { Key, Value } from './store/keys.js';
export { KvError, ERRORS } from './errors.js';
export type { ErrorCode } from './errors.js';
