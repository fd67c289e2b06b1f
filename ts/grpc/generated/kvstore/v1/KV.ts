// Original file: proto/kvstore/v1/kv.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { BatchRequest as _kvstore_v1_BatchRequest, BatchRequest__Output as _kvstore_v1_BatchRequest__Output } from '../../kvstore/v1/BatchRequest.js';
import type { BatchResponse as _kvstore_v1_BatchResponse, BatchResponse__Output as _kvstore_v1_BatchResponse__Output } from '../../kvstore/v1/BatchResponse.js';
import type { DeleteRequest as _kvstore_v1_DeleteRequest, DeleteRequest__Output as _kvstore_v1_DeleteRequest__Output } from '../../kvstore/v1/DeleteRequest.js';
import type { DeleteResponse as _kvstore_v1_DeleteResponse, DeleteResponse__Output as _kvstore_v1_DeleteResponse__Output } from '../../kvstore/v1/DeleteResponse.js';
import type { GetRequest as _kvstore_v1_GetRequest, GetRequest__Output as _kvstore_v1_GetRequest__Output } from '../../kvstore/v1/GetRequest.js';
import type { GetResponse as _kvstore_v1_GetResponse, GetResponse__Output as _kvstore_v1_GetResponse__Output } from '../../kvstore/v1/GetResponse.js';
import type { IncrRequest as _kvstore_v1_IncrRequest, IncrRequest__Output as _kvstore_v1_IncrRequest__Output } from '../../kvstore/v1/IncrRequest.js';
import type { IncrResponse as _kvstore_v1_IncrResponse, IncrResponse__Output as _kvstore_v1_IncrResponse__Output } from '../../kvstore/v1/IncrResponse.js';
import type { PutRequest as _kvstore_v1_PutRequest, PutRequest__Output as _kvstore_v1_PutRequest__Output } from '../../kvstore/v1/PutRequest.js';
import type { PutResponse as _kvstore_v1_PutResponse, PutResponse__Output as _kvstore_v1_PutResponse__Output } from '../../kvstore/v1/PutResponse.js';
import type { ScanRequest as _kvstore_v1_ScanRequest, ScanRequest__Output as _kvstore_v1_ScanRequest__Output } from '../../kvstore/v1/ScanRequest.js';
import type { ScanResponse as _kvstore_v1_ScanResponse, ScanResponse__Output as _kvstore_v1_ScanResponse__Output } from '../../kvstore/v1/ScanResponse.js';
import type { TxnRequest as _kvstore_v1_TxnRequest, TxnRequest__Output as _kvstore_v1_TxnRequest__Output } from '../../kvstore/v1/TxnRequest.js';
import type { TxnResponse as _kvstore_v1_TxnResponse, TxnResponse__Output as _kvstore_v1_TxnResponse__Output } from '../../kvstore/v1/TxnResponse.js';
import type { WatchRequest as _kvstore_v1_WatchRequest, WatchRequest__Output as _kvstore_v1_WatchRequest__Output } from '../../kvstore/v1/WatchRequest.js';
import type { WatchResponse as _kvstore_v1_WatchResponse, WatchResponse__Output as _kvstore_v1_WatchResponse__Output } from '../../kvstore/v1/WatchResponse.js';

export interface KVClient extends grpc.Client {
  /**
   * Every op as one WAL record: after a crash, all of them or none. Up to 1000 ops.
   */
  Batch(argument: _kvstore_v1_BatchRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kvstore_v1_BatchResponse__Output>): grpc.ClientUnaryCall;
  Batch(argument: _kvstore_v1_BatchRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kvstore_v1_BatchResponse__Output>): grpc.ClientUnaryCall;
  Batch(argument: _kvstore_v1_BatchRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kvstore_v1_BatchResponse__Output>): grpc.ClientUnaryCall;
  Batch(argument: _kvstore_v1_BatchRequest, callback: grpc.requestCallback<_kvstore_v1_BatchResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Every op as one WAL record: after a crash, all of them or none. Up to 1000 ops.
   */
  batch(argument: _kvstore_v1_BatchRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kvstore_v1_BatchResponse__Output>): grpc.ClientUnaryCall;
  batch(argument: _kvstore_v1_BatchRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kvstore_v1_BatchResponse__Output>): grpc.ClientUnaryCall;
  batch(argument: _kvstore_v1_BatchRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kvstore_v1_BatchResponse__Output>): grpc.ClientUnaryCall;
  batch(argument: _kvstore_v1_BatchRequest, callback: grpc.requestCallback<_kvstore_v1_BatchResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * Deletes key; deleted = false when it was absent. With if_version, only at that version.
   */
  Delete(argument: _kvstore_v1_DeleteRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kvstore_v1_DeleteResponse__Output>): grpc.ClientUnaryCall;
  Delete(argument: _kvstore_v1_DeleteRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kvstore_v1_DeleteResponse__Output>): grpc.ClientUnaryCall;
  Delete(argument: _kvstore_v1_DeleteRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kvstore_v1_DeleteResponse__Output>): grpc.ClientUnaryCall;
  Delete(argument: _kvstore_v1_DeleteRequest, callback: grpc.requestCallback<_kvstore_v1_DeleteResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Deletes key; deleted = false when it was absent. With if_version, only at that version.
   */
  delete(argument: _kvstore_v1_DeleteRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kvstore_v1_DeleteResponse__Output>): grpc.ClientUnaryCall;
  delete(argument: _kvstore_v1_DeleteRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kvstore_v1_DeleteResponse__Output>): grpc.ClientUnaryCall;
  delete(argument: _kvstore_v1_DeleteRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kvstore_v1_DeleteResponse__Output>): grpc.ClientUnaryCall;
  delete(argument: _kvstore_v1_DeleteRequest, callback: grpc.requestCallback<_kvstore_v1_DeleteResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * The entry at key; `entry` is unset when the key is absent or expired (not an error).
   */
  Get(argument: _kvstore_v1_GetRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kvstore_v1_GetResponse__Output>): grpc.ClientUnaryCall;
  Get(argument: _kvstore_v1_GetRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kvstore_v1_GetResponse__Output>): grpc.ClientUnaryCall;
  Get(argument: _kvstore_v1_GetRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kvstore_v1_GetResponse__Output>): grpc.ClientUnaryCall;
  Get(argument: _kvstore_v1_GetRequest, callback: grpc.requestCallback<_kvstore_v1_GetResponse__Output>): grpc.ClientUnaryCall;
  /**
   * The entry at key; `entry` is unset when the key is absent or expired (not an error).
   */
  get(argument: _kvstore_v1_GetRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kvstore_v1_GetResponse__Output>): grpc.ClientUnaryCall;
  get(argument: _kvstore_v1_GetRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kvstore_v1_GetResponse__Output>): grpc.ClientUnaryCall;
  get(argument: _kvstore_v1_GetRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kvstore_v1_GetResponse__Output>): grpc.ClientUnaryCall;
  get(argument: _kvstore_v1_GetRequest, callback: grpc.requestCallback<_kvstore_v1_GetResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * Adds `by` (default 1) to the decimal 64-bit integer at key (absent = 0).
   */
  Incr(argument: _kvstore_v1_IncrRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kvstore_v1_IncrResponse__Output>): grpc.ClientUnaryCall;
  Incr(argument: _kvstore_v1_IncrRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kvstore_v1_IncrResponse__Output>): grpc.ClientUnaryCall;
  Incr(argument: _kvstore_v1_IncrRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kvstore_v1_IncrResponse__Output>): grpc.ClientUnaryCall;
  Incr(argument: _kvstore_v1_IncrRequest, callback: grpc.requestCallback<_kvstore_v1_IncrResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Adds `by` (default 1) to the decimal 64-bit integer at key (absent = 0).
   */
  incr(argument: _kvstore_v1_IncrRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kvstore_v1_IncrResponse__Output>): grpc.ClientUnaryCall;
  incr(argument: _kvstore_v1_IncrRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kvstore_v1_IncrResponse__Output>): grpc.ClientUnaryCall;
  incr(argument: _kvstore_v1_IncrRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kvstore_v1_IncrResponse__Output>): grpc.ClientUnaryCall;
  incr(argument: _kvstore_v1_IncrRequest, callback: grpc.requestCallback<_kvstore_v1_IncrResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * Writes key = value; with if_version, only if the entry has that version (0 = only if absent).
   */
  Put(argument: _kvstore_v1_PutRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kvstore_v1_PutResponse__Output>): grpc.ClientUnaryCall;
  Put(argument: _kvstore_v1_PutRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kvstore_v1_PutResponse__Output>): grpc.ClientUnaryCall;
  Put(argument: _kvstore_v1_PutRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kvstore_v1_PutResponse__Output>): grpc.ClientUnaryCall;
  Put(argument: _kvstore_v1_PutRequest, callback: grpc.requestCallback<_kvstore_v1_PutResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Writes key = value; with if_version, only if the entry has that version (0 = only if absent).
   */
  put(argument: _kvstore_v1_PutRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kvstore_v1_PutResponse__Output>): grpc.ClientUnaryCall;
  put(argument: _kvstore_v1_PutRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kvstore_v1_PutResponse__Output>): grpc.ClientUnaryCall;
  put(argument: _kvstore_v1_PutRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kvstore_v1_PutResponse__Output>): grpc.ClientUnaryCall;
  put(argument: _kvstore_v1_PutRequest, callback: grpc.requestCallback<_kvstore_v1_PutResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * One page of entries in key order (bytes, unsigned). Pass `cursor` back for the next page.
   */
  Scan(argument: _kvstore_v1_ScanRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kvstore_v1_ScanResponse__Output>): grpc.ClientUnaryCall;
  Scan(argument: _kvstore_v1_ScanRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kvstore_v1_ScanResponse__Output>): grpc.ClientUnaryCall;
  Scan(argument: _kvstore_v1_ScanRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kvstore_v1_ScanResponse__Output>): grpc.ClientUnaryCall;
  Scan(argument: _kvstore_v1_ScanRequest, callback: grpc.requestCallback<_kvstore_v1_ScanResponse__Output>): grpc.ClientUnaryCall;
  /**
   * One page of entries in key order (bytes, unsigned). Pass `cursor` back for the next page.
   */
  scan(argument: _kvstore_v1_ScanRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kvstore_v1_ScanResponse__Output>): grpc.ClientUnaryCall;
  scan(argument: _kvstore_v1_ScanRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kvstore_v1_ScanResponse__Output>): grpc.ClientUnaryCall;
  scan(argument: _kvstore_v1_ScanRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kvstore_v1_ScanResponse__Output>): grpc.ClientUnaryCall;
  scan(argument: _kvstore_v1_ScanRequest, callback: grpc.requestCallback<_kvstore_v1_ScanResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * etcd-style transaction: every compare holds → success ops run, else failure ops; compares
   * and the branch are atomic and the branch's writes are one WAL record. Up to 1000 each.
   */
  Txn(argument: _kvstore_v1_TxnRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kvstore_v1_TxnResponse__Output>): grpc.ClientUnaryCall;
  Txn(argument: _kvstore_v1_TxnRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kvstore_v1_TxnResponse__Output>): grpc.ClientUnaryCall;
  Txn(argument: _kvstore_v1_TxnRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kvstore_v1_TxnResponse__Output>): grpc.ClientUnaryCall;
  Txn(argument: _kvstore_v1_TxnRequest, callback: grpc.requestCallback<_kvstore_v1_TxnResponse__Output>): grpc.ClientUnaryCall;
  /**
   * etcd-style transaction: every compare holds → success ops run, else failure ops; compares
   * and the branch are atomic and the branch's writes are one WAL record. Up to 1000 each.
   */
  txn(argument: _kvstore_v1_TxnRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kvstore_v1_TxnResponse__Output>): grpc.ClientUnaryCall;
  txn(argument: _kvstore_v1_TxnRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kvstore_v1_TxnResponse__Output>): grpc.ClientUnaryCall;
  txn(argument: _kvstore_v1_TxnRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kvstore_v1_TxnResponse__Output>): grpc.ClientUnaryCall;
  txn(argument: _kvstore_v1_TxnRequest, callback: grpc.requestCallback<_kvstore_v1_TxnResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * The change feed of a key range, in version (LSN) order: one message per WAL record (a
   * batch's or transaction's events together). Only keys the caller may read; never "_sys.".
   * Ends with an error status: COMPACTED (from_version too old), WATCH_LAGGED (the caller
   * read too slowly; resume from the version in the message).
   */
  Watch(argument: _kvstore_v1_WatchRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_kvstore_v1_WatchResponse__Output>;
  Watch(argument: _kvstore_v1_WatchRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_kvstore_v1_WatchResponse__Output>;
  /**
   * The change feed of a key range, in version (LSN) order: one message per WAL record (a
   * batch's or transaction's events together). Only keys the caller may read; never "_sys.".
   * Ends with an error status: COMPACTED (from_version too old), WATCH_LAGGED (the caller
   * read too slowly; resume from the version in the message).
   */
  watch(argument: _kvstore_v1_WatchRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_kvstore_v1_WatchResponse__Output>;
  watch(argument: _kvstore_v1_WatchRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_kvstore_v1_WatchResponse__Output>;
  
}

export interface KVHandlers extends grpc.UntypedServiceImplementation {
  /**
   * Every op as one WAL record: after a crash, all of them or none. Up to 1000 ops.
   */
  Batch: grpc.handleUnaryCall<_kvstore_v1_BatchRequest__Output, _kvstore_v1_BatchResponse>;
  
  /**
   * Deletes key; deleted = false when it was absent. With if_version, only at that version.
   */
  Delete: grpc.handleUnaryCall<_kvstore_v1_DeleteRequest__Output, _kvstore_v1_DeleteResponse>;
  
  /**
   * The entry at key; `entry` is unset when the key is absent or expired (not an error).
   */
  Get: grpc.handleUnaryCall<_kvstore_v1_GetRequest__Output, _kvstore_v1_GetResponse>;
  
  /**
   * Adds `by` (default 1) to the decimal 64-bit integer at key (absent = 0).
   */
  Incr: grpc.handleUnaryCall<_kvstore_v1_IncrRequest__Output, _kvstore_v1_IncrResponse>;
  
  /**
   * Writes key = value; with if_version, only if the entry has that version (0 = only if absent).
   */
  Put: grpc.handleUnaryCall<_kvstore_v1_PutRequest__Output, _kvstore_v1_PutResponse>;
  
  /**
   * One page of entries in key order (bytes, unsigned). Pass `cursor` back for the next page.
   */
  Scan: grpc.handleUnaryCall<_kvstore_v1_ScanRequest__Output, _kvstore_v1_ScanResponse>;
  
  /**
   * etcd-style transaction: every compare holds → success ops run, else failure ops; compares
   * and the branch are atomic and the branch's writes are one WAL record. Up to 1000 each.
   */
  Txn: grpc.handleUnaryCall<_kvstore_v1_TxnRequest__Output, _kvstore_v1_TxnResponse>;
  
  /**
   * The change feed of a key range, in version (LSN) order: one message per WAL record (a
   * batch's or transaction's events together). Only keys the caller may read; never "_sys.".
   * Ends with an error status: COMPACTED (from_version too old), WATCH_LAGGED (the caller
   * read too slowly; resume from the version in the message).
   */
  Watch: grpc.handleServerStreamingCall<_kvstore_v1_WatchRequest__Output, _kvstore_v1_WatchResponse>;
  
}

export interface KVDefinition extends grpc.ServiceDefinition {
  Batch: MethodDefinition<_kvstore_v1_BatchRequest, _kvstore_v1_BatchResponse, _kvstore_v1_BatchRequest__Output, _kvstore_v1_BatchResponse__Output>
  Delete: MethodDefinition<_kvstore_v1_DeleteRequest, _kvstore_v1_DeleteResponse, _kvstore_v1_DeleteRequest__Output, _kvstore_v1_DeleteResponse__Output>
  Get: MethodDefinition<_kvstore_v1_GetRequest, _kvstore_v1_GetResponse, _kvstore_v1_GetRequest__Output, _kvstore_v1_GetResponse__Output>
  Incr: MethodDefinition<_kvstore_v1_IncrRequest, _kvstore_v1_IncrResponse, _kvstore_v1_IncrRequest__Output, _kvstore_v1_IncrResponse__Output>
  Put: MethodDefinition<_kvstore_v1_PutRequest, _kvstore_v1_PutResponse, _kvstore_v1_PutRequest__Output, _kvstore_v1_PutResponse__Output>
  Scan: MethodDefinition<_kvstore_v1_ScanRequest, _kvstore_v1_ScanResponse, _kvstore_v1_ScanRequest__Output, _kvstore_v1_ScanResponse__Output>
  Txn: MethodDefinition<_kvstore_v1_TxnRequest, _kvstore_v1_TxnResponse, _kvstore_v1_TxnRequest__Output, _kvstore_v1_TxnResponse__Output>
  Watch: MethodDefinition<_kvstore_v1_WatchRequest, _kvstore_v1_WatchResponse, _kvstore_v1_WatchRequest__Output, _kvstore_v1_WatchResponse__Output>
}
