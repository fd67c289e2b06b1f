import type * as grpc from '@grpc/grpc-js';
import type { MessageTypeDefinition } from '@grpc/proto-loader';

import type { BatchOp as _kvstore_v1_BatchOp, BatchOp__Output as _kvstore_v1_BatchOp__Output } from './kvstore/v1/BatchOp.js';
import type { BatchRequest as _kvstore_v1_BatchRequest, BatchRequest__Output as _kvstore_v1_BatchRequest__Output } from './kvstore/v1/BatchRequest.js';
import type { BatchResponse as _kvstore_v1_BatchResponse, BatchResponse__Output as _kvstore_v1_BatchResponse__Output } from './kvstore/v1/BatchResponse.js';
import type { Compare as _kvstore_v1_Compare, Compare__Output as _kvstore_v1_Compare__Output } from './kvstore/v1/Compare.js';
import type { DeleteOp as _kvstore_v1_DeleteOp, DeleteOp__Output as _kvstore_v1_DeleteOp__Output } from './kvstore/v1/DeleteOp.js';
import type { DeleteRequest as _kvstore_v1_DeleteRequest, DeleteRequest__Output as _kvstore_v1_DeleteRequest__Output } from './kvstore/v1/DeleteRequest.js';
import type { DeleteResponse as _kvstore_v1_DeleteResponse, DeleteResponse__Output as _kvstore_v1_DeleteResponse__Output } from './kvstore/v1/DeleteResponse.js';
import type { DeleteResult as _kvstore_v1_DeleteResult, DeleteResult__Output as _kvstore_v1_DeleteResult__Output } from './kvstore/v1/DeleteResult.js';
import type { Entry as _kvstore_v1_Entry, Entry__Output as _kvstore_v1_Entry__Output } from './kvstore/v1/Entry.js';
import type { GetOp as _kvstore_v1_GetOp, GetOp__Output as _kvstore_v1_GetOp__Output } from './kvstore/v1/GetOp.js';
import type { GetRequest as _kvstore_v1_GetRequest, GetRequest__Output as _kvstore_v1_GetRequest__Output } from './kvstore/v1/GetRequest.js';
import type { GetResponse as _kvstore_v1_GetResponse, GetResponse__Output as _kvstore_v1_GetResponse__Output } from './kvstore/v1/GetResponse.js';
import type { GetResult as _kvstore_v1_GetResult, GetResult__Output as _kvstore_v1_GetResult__Output } from './kvstore/v1/GetResult.js';
import type { IncrOp as _kvstore_v1_IncrOp, IncrOp__Output as _kvstore_v1_IncrOp__Output } from './kvstore/v1/IncrOp.js';
import type { IncrRequest as _kvstore_v1_IncrRequest, IncrRequest__Output as _kvstore_v1_IncrRequest__Output } from './kvstore/v1/IncrRequest.js';
import type { IncrResponse as _kvstore_v1_IncrResponse, IncrResponse__Output as _kvstore_v1_IncrResponse__Output } from './kvstore/v1/IncrResponse.js';
import type { IncrResult as _kvstore_v1_IncrResult, IncrResult__Output as _kvstore_v1_IncrResult__Output } from './kvstore/v1/IncrResult.js';
import type { KVClient as _kvstore_v1_KVClient, KVDefinition as _kvstore_v1_KVDefinition } from './kvstore/v1/KV.js';
import type { KeyValue as _kvstore_v1_KeyValue, KeyValue__Output as _kvstore_v1_KeyValue__Output } from './kvstore/v1/KeyValue.js';
import type { PutOp as _kvstore_v1_PutOp, PutOp__Output as _kvstore_v1_PutOp__Output } from './kvstore/v1/PutOp.js';
import type { PutRequest as _kvstore_v1_PutRequest, PutRequest__Output as _kvstore_v1_PutRequest__Output } from './kvstore/v1/PutRequest.js';
import type { PutResponse as _kvstore_v1_PutResponse, PutResponse__Output as _kvstore_v1_PutResponse__Output } from './kvstore/v1/PutResponse.js';
import type { PutResult as _kvstore_v1_PutResult, PutResult__Output as _kvstore_v1_PutResult__Output } from './kvstore/v1/PutResult.js';
import type { ScanRequest as _kvstore_v1_ScanRequest, ScanRequest__Output as _kvstore_v1_ScanRequest__Output } from './kvstore/v1/ScanRequest.js';
import type { ScanResponse as _kvstore_v1_ScanResponse, ScanResponse__Output as _kvstore_v1_ScanResponse__Output } from './kvstore/v1/ScanResponse.js';
import type { TxnOp as _kvstore_v1_TxnOp, TxnOp__Output as _kvstore_v1_TxnOp__Output } from './kvstore/v1/TxnOp.js';
import type { TxnRequest as _kvstore_v1_TxnRequest, TxnRequest__Output as _kvstore_v1_TxnRequest__Output } from './kvstore/v1/TxnRequest.js';
import type { TxnResponse as _kvstore_v1_TxnResponse, TxnResponse__Output as _kvstore_v1_TxnResponse__Output } from './kvstore/v1/TxnResponse.js';
import type { TxnResult as _kvstore_v1_TxnResult, TxnResult__Output as _kvstore_v1_TxnResult__Output } from './kvstore/v1/TxnResult.js';
import type { WatchEvent as _kvstore_v1_WatchEvent, WatchEvent__Output as _kvstore_v1_WatchEvent__Output } from './kvstore/v1/WatchEvent.js';
import type { WatchRequest as _kvstore_v1_WatchRequest, WatchRequest__Output as _kvstore_v1_WatchRequest__Output } from './kvstore/v1/WatchRequest.js';
import type { WatchResponse as _kvstore_v1_WatchResponse, WatchResponse__Output as _kvstore_v1_WatchResponse__Output } from './kvstore/v1/WatchResponse.js';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  kvstore: {
    v1: {
      BatchOp: MessageTypeDefinition<_kvstore_v1_BatchOp, _kvstore_v1_BatchOp__Output>
      BatchRequest: MessageTypeDefinition<_kvstore_v1_BatchRequest, _kvstore_v1_BatchRequest__Output>
      BatchResponse: MessageTypeDefinition<_kvstore_v1_BatchResponse, _kvstore_v1_BatchResponse__Output>
      Compare: MessageTypeDefinition<_kvstore_v1_Compare, _kvstore_v1_Compare__Output>
      DeleteOp: MessageTypeDefinition<_kvstore_v1_DeleteOp, _kvstore_v1_DeleteOp__Output>
      DeleteRequest: MessageTypeDefinition<_kvstore_v1_DeleteRequest, _kvstore_v1_DeleteRequest__Output>
      DeleteResponse: MessageTypeDefinition<_kvstore_v1_DeleteResponse, _kvstore_v1_DeleteResponse__Output>
      DeleteResult: MessageTypeDefinition<_kvstore_v1_DeleteResult, _kvstore_v1_DeleteResult__Output>
      Entry: MessageTypeDefinition<_kvstore_v1_Entry, _kvstore_v1_Entry__Output>
      GetOp: MessageTypeDefinition<_kvstore_v1_GetOp, _kvstore_v1_GetOp__Output>
      GetRequest: MessageTypeDefinition<_kvstore_v1_GetRequest, _kvstore_v1_GetRequest__Output>
      GetResponse: MessageTypeDefinition<_kvstore_v1_GetResponse, _kvstore_v1_GetResponse__Output>
      GetResult: MessageTypeDefinition<_kvstore_v1_GetResult, _kvstore_v1_GetResult__Output>
      IncrOp: MessageTypeDefinition<_kvstore_v1_IncrOp, _kvstore_v1_IncrOp__Output>
      IncrRequest: MessageTypeDefinition<_kvstore_v1_IncrRequest, _kvstore_v1_IncrRequest__Output>
      IncrResponse: MessageTypeDefinition<_kvstore_v1_IncrResponse, _kvstore_v1_IncrResponse__Output>
      IncrResult: MessageTypeDefinition<_kvstore_v1_IncrResult, _kvstore_v1_IncrResult__Output>
      KV: SubtypeConstructor<typeof grpc.Client, _kvstore_v1_KVClient> & { service: _kvstore_v1_KVDefinition }
      KeyValue: MessageTypeDefinition<_kvstore_v1_KeyValue, _kvstore_v1_KeyValue__Output>
      PutOp: MessageTypeDefinition<_kvstore_v1_PutOp, _kvstore_v1_PutOp__Output>
      PutRequest: MessageTypeDefinition<_kvstore_v1_PutRequest, _kvstore_v1_PutRequest__Output>
      PutResponse: MessageTypeDefinition<_kvstore_v1_PutResponse, _kvstore_v1_PutResponse__Output>
      PutResult: MessageTypeDefinition<_kvstore_v1_PutResult, _kvstore_v1_PutResult__Output>
      ScanRequest: MessageTypeDefinition<_kvstore_v1_ScanRequest, _kvstore_v1_ScanRequest__Output>
      ScanResponse: MessageTypeDefinition<_kvstore_v1_ScanResponse, _kvstore_v1_ScanResponse__Output>
      TxnOp: MessageTypeDefinition<_kvstore_v1_TxnOp, _kvstore_v1_TxnOp__Output>
      TxnRequest: MessageTypeDefinition<_kvstore_v1_TxnRequest, _kvstore_v1_TxnRequest__Output>
      TxnResponse: MessageTypeDefinition<_kvstore_v1_TxnResponse, _kvstore_v1_TxnResponse__Output>
      TxnResult: MessageTypeDefinition<_kvstore_v1_TxnResult, _kvstore_v1_TxnResult__Output>
      WatchEvent: MessageTypeDefinition<_kvstore_v1_WatchEvent, _kvstore_v1_WatchEvent__Output>
      WatchRequest: MessageTypeDefinition<_kvstore_v1_WatchRequest, _kvstore_v1_WatchRequest__Output>
      WatchResponse: MessageTypeDefinition<_kvstore_v1_WatchResponse, _kvstore_v1_WatchResponse__Output>
    }
  }
}

