/**
 * KvError codes ↔ gRPC statuses: the one table (GRPC_STATUS) both directions read, and the
 * encoding of the stable code in the status details.
 *
 * A failed call carries, besides its gRPC status code and message, the trailer
 * `grpc-status-details-bin`: a google.rpc.Status whose details hold one google.rpc.ErrorInfo
 * with domain ERROR_DOMAIN and reason = the KvError code (Google's rich error model, which
 * grpcurl and the grpc-status libraries decode). RATE_LIMITED adds a `retry-after` trailer
 * (seconds), as the HTTP API's header. docs/grpc.md shows the table; test/grpc-status.test.ts
 * keeps table, docs and ts/errors.ts in step.
 */
import { status as Status, Metadata, type ServiceError } from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import { ERRORS, type ErrorCode, KvError, isErrorCode } from '../errors.js';
import { PROTO_DIR } from './proto.js';

export const ERROR_DOMAIN = 'kvstore.v1';
export const DETAILS_KEY = 'grpc-status-details-bin';
const ERROR_INFO_URL = 'type.googleapis.com/google.rpc.ErrorInfo';

/** Every KvError code's gRPC status. A `Record` over ErrorCode: a code added to ts/errors.ts without a row here does not compile. */
export const GRPC_STATUS: { readonly [C in ErrorCode]: Status } = {
  INVALID_ARGUMENT: Status.INVALID_ARGUMENT,
  UNKNOWN_OPTION: Status.INVALID_ARGUMENT,
  KEY_TOO_LARGE: Status.INVALID_ARGUMENT,
  VALUE_TOO_LARGE: Status.INVALID_ARGUMENT,
  RESERVED_KEY: Status.PERMISSION_DENIED,
  VERSION_MISMATCH: Status.FAILED_PRECONDITION,
  NOT_A_NUMBER: Status.FAILED_PRECONDITION,
  LOCKED: Status.FAILED_PRECONDITION,
  CORRUPT: Status.DATA_LOSS,
  IO_ERROR: Status.UNAVAILABLE,
  CLOSED: Status.UNAVAILABLE,
  NATIVE_UNAVAILABLE: Status.INTERNAL,
  AUTH_FAILED: Status.UNAUTHENTICATED,
  PERMISSION_DENIED: Status.PERMISSION_DENIED,
  AUTH_DISABLED: Status.FAILED_PRECONDITION,
  NOT_FOUND: Status.NOT_FOUND,
  ALREADY_EXISTS: Status.ALREADY_EXISTS,
  PASSWORD_POLICY: Status.INVALID_ARGUMENT,
  CATALOG_VERSION: Status.FAILED_PRECONDITION,
  UNSUPPORTED_MEDIA_TYPE: Status.INVALID_ARGUMENT,
  MALFORMED_REQUEST: Status.INVALID_ARGUMENT,
  HEADERS_TOO_LARGE: Status.INVALID_ARGUMENT,
  METHOD_NOT_ALLOWED: Status.UNIMPLEMENTED,
  REQUEST_TIMEOUT: Status.DEADLINE_EXCEEDED,
  RATE_LIMITED: Status.RESOURCE_EXHAUSTED,
  NOT_READY: Status.UNAVAILABLE,
  CATALOG_BUSY: Status.ABORTED,
  MASTER_KEY_REQUIRED: Status.FAILED_PRECONDITION,
  MASTER_KEY_MISMATCH: Status.FAILED_PRECONDITION,
  MASTER_KEY_UNAVAILABLE: Status.UNAVAILABLE,
  DECODE_ERROR: Status.FAILED_PRECONDITION,
  ENCODING_UNAVAILABLE: Status.FAILED_PRECONDITION,
  READ_ONLY: Status.FAILED_PRECONDITION,
  WAL_COMPACTED: Status.OUT_OF_RANGE,
  WAL_LSN_MISMATCH: Status.FAILED_PRECONDITION,
  WAL_BAD_RECORD: Status.INVALID_ARGUMENT,
  NOT_STANDBY: Status.FAILED_PRECONDITION,
  LSN_EXHAUSTED: Status.RESOURCE_EXHAUSTED,
  REPLICATION_PROTOCOL: Status.DATA_LOSS,
  REPLICATION_MISMATCH: Status.FAILED_PRECONDITION,
  SYNC_TIMEOUT: Status.DEADLINE_EXCEEDED,
  NOT_PRIMARY: Status.UNAVAILABLE,
  FORWARD_FAILED: Status.UNAVAILABLE,
  OUTCOME_UNKNOWN: Status.UNAVAILABLE,
  READ_INDEX_TIMEOUT: Status.UNAVAILABLE,
  FENCED: Status.UNAVAILABLE,
  TXN_CONFLICT: Status.ABORTED,
  COMPACTED: Status.OUT_OF_RANGE,
  WATCH_LAGGED: Status.RESOURCE_EXHAUSTED,
  BACKUP_CORRUPT: Status.DATA_LOSS,
  RESTORE_TARGET_NOT_EMPTY: Status.FAILED_PRECONDITION,
  RESTORE_TARGET_UNREACHABLE: Status.OUT_OF_RANGE,
  OBJECT_STORE_UNAVAILABLE: Status.FAILED_PRECONDITION,
  PACKAGE_UNAVAILABLE: Status.FAILED_PRECONDITION,
  UNAVAILABLE: Status.UNAVAILABLE,
  TIMEOUT: Status.DEADLINE_EXCEEDED,
  INTERNAL: Status.INTERNAL,
};

/**
 * The code of a failed call that carries no ErrorInfo: one grpc-js or a proxy made, not
 * kvstored's handlers (which always attach it). RESOURCE_EXHAUSTED without details is a
 * message over the size limit (kvstored's own rate limit always has details), UNIMPLEMENTED
 * a method this server does not have (as the HTTP API's 404 for a route it does not have).
 */
export const FROM_GRPC_STATUS: { readonly [S in Status]: ErrorCode } = {
  [Status.OK]: 'INTERNAL',
  [Status.CANCELLED]: 'UNAVAILABLE',
  [Status.UNKNOWN]: 'INTERNAL',
  [Status.INVALID_ARGUMENT]: 'INVALID_ARGUMENT',
  [Status.DEADLINE_EXCEEDED]: 'TIMEOUT',
  [Status.NOT_FOUND]: 'NOT_FOUND',
  [Status.ALREADY_EXISTS]: 'ALREADY_EXISTS',
  [Status.PERMISSION_DENIED]: 'PERMISSION_DENIED',
  [Status.RESOURCE_EXHAUSTED]: 'VALUE_TOO_LARGE',
  [Status.FAILED_PRECONDITION]: 'INVALID_ARGUMENT',
  [Status.ABORTED]: 'UNAVAILABLE',
  [Status.OUT_OF_RANGE]: 'INVALID_ARGUMENT',
  [Status.UNIMPLEMENTED]: 'NOT_FOUND',
  [Status.INTERNAL]: 'INTERNAL',
  [Status.UNAVAILABLE]: 'UNAVAILABLE',
  [Status.DATA_LOSS]: 'CORRUPT',
  [Status.UNAUTHENTICATED]: 'AUTH_FAILED',
};

let types: { status: protobuf.Type; info: protobuf.Type } | null = null;
function rpcTypes(): { status: protobuf.Type; info: protobuf.Type } {
  if (!types) {
    const root = protobuf.loadSync(`${PROTO_DIR}google/rpc/status.proto`);
    types = { status: root.lookupType('google.rpc.Status'), info: root.lookupType('google.rpc.ErrorInfo') };
  }
  return types;
}

/** The error a handler answers with: status, message, and the trailers that carry the stable code. */
export function toServiceError(err: KvError, retryAfterSeconds?: number): Partial<ServiceError> & { code: Status; details: string; metadata: Metadata } {
  const code = GRPC_STATUS[err.code];
  const t = rpcTypes();
  const info = t.info.encode(t.info.create({ reason: err.code, domain: ERROR_DOMAIN })).finish();
  const details = t.status.encode(t.status.create({ code, message: err.message, details: [{ type_url: ERROR_INFO_URL, value: info }] })).finish();
  const metadata = new Metadata();
  metadata.set(DETAILS_KEY, Buffer.from(details));
  if (retryAfterSeconds !== undefined) metadata.set('retry-after', String(retryAfterSeconds));
  return { name: 'KvError', message: err.message, code, details: err.message, metadata };
}

/** The KvError code in a failed call's details, or undefined when it carries none of ours. */
export function errorCodeOf(metadata: Metadata | undefined): ErrorCode | undefined {
  const raw = metadata?.get(DETAILS_KEY)[0];
  if (!Buffer.isBuffer(raw)) return undefined;
  const t = rpcTypes();
  try {
    const s = t.status.decode(raw) as unknown as { details?: Array<{ type_url?: string; value?: Uint8Array }> };
    for (const d of s.details ?? []) {
      if (d.type_url !== ERROR_INFO_URL || !d.value) continue;
      const info = t.info.decode(d.value) as unknown as { reason?: string; domain?: string };
      if (info.domain === ERROR_DOMAIN && isErrorCode(info.reason)) return info.reason;
    }
  } catch {
    /* not a google.rpc.Status: treated as no details */
  }
  return undefined;
}

/** A failed call as the KvError it stands for: the code from the details, else from the gRPC status. */
export function fromServiceError(err: ServiceError): KvError {
  const code = errorCodeOf(err.metadata) ?? FROM_GRPC_STATUS[err.code as Status] ?? 'INTERNAL';
  return new KvError(code, err.details || ERRORS[code].message, { cause: err });
}
