export { open, Store } from './store/store.js';
export type { Entry, PutOptions, DeleteOptions, BatchOperation, ScanOptions, StoreStats } from './store/store.js';
export type { OpenOptions, Durability, EngineKind } from './store/options.js';
export type { Key, Value } from './store/keys.js';
export type { Encoding, EncodingName, EncodingFor, DecodedBy, KeyInput, ValueInput } from './store/encoding.js';
export type { IteratorOptions, IteratorEntry, StoreIterator } from './store/iterator.js';
export type { TxnRequest, TxnResponse, TxnResult, TxnCompare, TxnCompareOp, TxnOp } from './store/txn.js';
export type { WatchRange, WatchOptions, WatchEvent, Watcher } from './store/watch.js';
export { KvError, ERRORS } from './errors.js';
export { restoreBackup, verifyBackup, verifyArchive, pruneRepo, listRepo, WalArchiver } from './backup/index.js';
export type { BackupOptions, RestoreOptions, RestoreResult, Manifest, ManifestFile, S3Settings, PruneOptions, PruneResult, BackupCheck, ArchiveCheck, ArchiveGap, BackupEnd, ArchiverStatus, ArchiverOptions, Location, Repo, RepoObject, RepoContents, BackupSource, ArchivedChunk } from './backup/index.js';
export type { ErrorCode } from './errors.js';
export { AuthService, loadMasterKey } from './auth/service.js';
export type {
  AuthOptions, RequestContext, Principal, Decision, ScanDecision, UserInfo, RoleInfo, ApiKeyInfo, ApiKeyOptions, GrantSpec, AuthStats,
  Action, AuthSettings, Permission, AuditPage, AuditOptions, CreateUserOptions, FirstAdminOptions, ListApiKeysOptions, RoleOptions,
  AuditEntry, AuditReadOptions, AuditSink, MasterKeySource,
} from './auth/service.js';
export type { RoleRecord, ApiKeyRecord, AuditRecord, Argon2Settings } from './catalog/schema.js';
export type { LoginResult } from './auth/sessions.js';
export type { ReplicationInfo } from './store/store.js';
