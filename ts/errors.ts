/**
 * The one error catalogue. Every error the library throws is a KvError whose `code`
 * is one of these keys; `status` is the HTTP status the server answers with (for the two
 * only a client raises, UNAVAILABLE and TIMEOUT, the status a gateway would answer).
 * docs/errors.md lists the same codes; test/errors.test.ts keeps them in step;
 * ts/grpc/status.ts maps each to a gRPC status.
 */
export const ERRORS = {
  INVALID_ARGUMENT: { status: 400, message: 'Invalid argument' },
  UNKNOWN_OPTION: { status: 400, message: 'Unknown option' },
  KEY_TOO_LARGE: { status: 413, message: 'Key is longer than the limit' },
  VALUE_TOO_LARGE: { status: 413, message: 'Value is larger than the limit' },
  RESERVED_KEY: { status: 403, message: 'Keys under "_sys." are reserved for the system catalog' },
  VERSION_MISMATCH: { status: 412, message: 'The entry does not have the expected version' },
  NOT_A_NUMBER: { status: 409, message: 'The value is not a decimal 64-bit integer' },
  LOCKED: { status: 409, message: 'The data directory is in use by another process' },
  CORRUPT: { status: 500, message: 'The data directory is corrupt' },
  IO_ERROR: { status: 503, message: 'An I/O error made the store read-only' },
  CLOSED: { status: 503, message: 'The store is closed' },
  READ_ONLY: { status: 409, message: 'The store is a standby: it takes writes only from its primary' },
  WAL_COMPACTED: { status: 410, message: 'The WAL from that LSN was dropped by a checkpoint: start from a base backup' },
  WAL_LSN_MISMATCH: { status: 409, message: 'The LSN does not continue the log' },
  WAL_BAD_RECORD: { status: 400, message: 'The bytes are not valid WAL records' },
  NOT_STANDBY: { status: 409, message: 'Only a standby can do that' },
  LSN_EXHAUSTED: { status: 507, message: 'The store has used up its log sequence numbers: it takes no more writes' },
  NATIVE_UNAVAILABLE: { status: 500, message: 'The native engine could not be loaded' },
  DECODE_ERROR: { status: 500, message: "A stored key or value cannot be decoded with the store's encoding" },
  ENCODING_UNAVAILABLE: { status: 500, message: 'The encoding needs a package that is not installed' },
  AUTH_FAILED: { status: 401, message: 'Authentication failed' },
  PERMISSION_DENIED: { status: 403, message: 'Permission denied' },
  AUTH_DISABLED: { status: 409, message: 'Authentication is off on this server: it has no users, roles or API keys' },
  NOT_FOUND: { status: 404, message: 'Not found' },
  ALREADY_EXISTS: { status: 409, message: 'A catalog object with that name already exists' },
  PASSWORD_POLICY: { status: 400, message: 'The password does not meet the password policy' },
  CATALOG_VERSION: { status: 500, message: 'The system catalog was written by a newer version' },
  CATALOG_BUSY: { status: 503, message: 'The system catalog stayed locked by other threads; retry' },
  MASTER_KEY_REQUIRED: { status: 503, message: 'The system catalog is sealed and no master key was given' },
  MASTER_KEY_MISMATCH: { status: 503, message: 'The system catalog is sealed under another master key' },
  MASTER_KEY_UNAVAILABLE: { status: 500, message: 'The master key could not be loaded' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, message: 'The request body has a content type this route does not take' },
  MALFORMED_REQUEST: { status: 400, message: 'The request is not valid HTTP' },
  HEADERS_TOO_LARGE: { status: 431, message: 'The request headers are larger than the limit' },
  METHOD_NOT_ALLOWED: { status: 405, message: 'The request method is not one this server knows' },
  REQUEST_TIMEOUT: { status: 408, message: 'The request was not received in time' },
  RATE_LIMITED: { status: 429, message: 'Too many requests' },
  NOT_READY: { status: 503, message: 'The server is starting or shutting down' },
  REPLICATION_PROTOCOL: { status: 502, message: 'A replication stream frame or record is corrupt, truncated or out of order' },
  REPLICATION_MISMATCH: { status: 409, message: 'This node cannot follow that primary (another cluster, or a stale primary)' },
  SYNC_TIMEOUT: { status: 503, message: 'The write is durable locally but not confirmed by the synchronous standbys in time' },
  NOT_PRIMARY: { status: 503, message: 'This node is not the primary and cannot take this request; retry after a moment' },
  FORWARD_FAILED: { status: 503, message: 'The write could not be sent to the primary: nothing was written' },
  OUTCOME_UNKNOWN: { status: 503, message: 'The write was forwarded to the primary but no answer came back: it may or may not have been applied' },
  READ_INDEX_TIMEOUT: { status: 503, message: 'This node did not catch up with the primary in time for a linearizable read' },
  FENCED: { status: 503, message: 'This primary could not renew its leadership lease in time: the write was not acknowledged (it may or may not survive the failover)' },
  TXN_CONFLICT: { status: 409, message: "The keys the transaction reads kept changing under it; retry" },
  COMPACTED: { status: 410, message: 'The WAL from that version was dropped by a checkpoint: watch from a newer version' },
  WATCH_LAGGED: { status: 410, message: 'The watcher fell too far behind and was cut: watch again from the version given' },
  BACKUP_CORRUPT: { status: 422, message: 'A backup or archived WAL file is missing or damaged' },
  RESTORE_TARGET_NOT_EMPTY: { status: 409, message: 'The restore target directory is not empty or is in use' },
  RESTORE_TARGET_UNREACHABLE: { status: 409, message: 'No backup and archived WAL reach the requested restore point' },
  OBJECT_STORE_UNAVAILABLE: { status: 500, message: 'An s3:// location needs @aws-sdk/client-s3 and @aws-sdk/lib-storage, which are not installed' },
  PACKAGE_UNAVAILABLE: { status: 500, message: 'The feature needs an optional package that is not installed' },
  UNAVAILABLE: { status: 503, message: 'The server could not be reached' },
  TIMEOUT: { status: 504, message: 'The server did not answer in time' },
  INTERNAL: { status: 500, message: 'Internal server error' },
} as const;

export type ErrorCode = keyof typeof ERRORS;

export class KvError extends Error {
  readonly code: ErrorCode;
  readonly status: number;

  constructor(code: ErrorCode, message?: string, options?: { cause?: unknown }) {
    super(message ?? ERRORS[code].message, options);
    this.name = 'KvError';
    this.code = code;
    this.status = ERRORS[code].status;
  }
}

export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.prototype.hasOwnProperty.call(ERRORS, code);
}

/** Wraps an engine error (which carries a string `code`) into a KvError, keeping the cause. */
export function toKvError(err: unknown): KvError {
  if (err instanceof KvError) return err;
  const code = (err as { code?: unknown } | null)?.code;
  const message = err instanceof Error ? err.message : String(err);
  return new KvError(isErrorCode(code) ? code : 'IO_ERROR', message, { cause: err });
}
