import type * as grpc from '@grpc/grpc-js';
import type { MessageTypeDefinition } from '@grpc/proto-loader';

import type { BatchOp as _kvstore_v1_BatchOp, BatchOp__Output as _kvstore_v1_BatchOp__Output } from './kvstore/v1/BatchOp.js';
import type { BatchRequest as _kvstore_v1_BatchRequest, BatchRequest__Output as _kvstore_v1_BatchRequest__Output } from './kvstore/v1/BatchRequest.js';
import type { BatchResponse as _kvstore_v1_BatchResponse, BatchResponse__Output as _kvstore_v1_BatchResponse__Output } from './kvstore/v1/BatchResponse.js';
import type { DeleteOp as _kvstore_v1_DeleteOp, DeleteOp__Output as _kvstore_v1_DeleteOp__Output } from './kvstore/v1/DeleteOp.js';
import type { DeleteRequest as _kvstore_v1_DeleteRequest, DeleteRequest__Output as _kvstore_v1_DeleteRequest__Output } from './kvstore/v1/DeleteRequest.js';
import type { DeleteResponse as _kvstore_v1_DeleteResponse, DeleteResponse__Output as _kvstore_v1_DeleteResponse__Output } from './kvstore/v1/DeleteResponse.js';
import type { Entry as _kvstore_v1_Entry, Entry__Output as _kvstore_v1_Entry__Output } from './kvstore/v1/Entry.js';
import type { GetRequest as _kvstore_v1_GetRequest, GetRequest__Output as _kvstore_v1_GetRequest__Output } from './kvstore/v1/GetRequest.js';
import type { GetResponse as _kvstore_v1_GetResponse, GetResponse__Output as _kvstore_v1_GetResponse__Output } from './kvstore/v1/GetResponse.js';
import type { IncrRequest as _kvstore_v1_IncrRequest, IncrRequest__Output as _kvstore_v1_IncrRequest__Output } from './kvstore/v1/IncrRequest.js';
import type { IncrResponse as _kvstore_v1_IncrResponse, IncrResponse__Output as _kvstore_v1_IncrResponse__Output } from './kvstore/v1/IncrResponse.js';
import type { KVClient as _kvstore_v1_KVClient, KVDefinition as _kvstore_v1_KVDefinition } from './kvstore/v1/KV.js';
import type { KeyValue as _kvstore_v1_KeyValue, KeyValue__Output as _kvstore_v1_KeyValue__Output } from './kvstore/v1/KeyValue.js';
import type { PutOp as _kvstore_v1_PutOp, PutOp__Output as _kvstore_v1_PutOp__Output } from './kvstore/v1/PutOp.js';
import type { PutRequest as _kvstore_v1_PutRequest, PutRequest__Output as _kvstore_v1_PutRequest__Output } from './kvstore/v1/PutRequest.js';
import type { PutResponse as _kvstore_v1_PutResponse, PutResponse__Output as _kvstore_v1_PutResponse__Output } from './kvstore/v1/PutResponse.js';
import type { ScanRequest as _kvstore_v1_ScanRequest, ScanRequest__Output as _kvstore_v1_ScanRequest__Output } from './kvstore/v1/ScanRequest.js';
import type { ScanResponse as _kvstore_v1_ScanResponse, ScanResponse__Output as _kvstore_v1_ScanResponse__Output } from './kvstore/v1/ScanResponse.js';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  kvstore: {
    v1: {
      BatchOp: MessageTypeDefinition<_kvstore_v1_BatchOp, _kvstore_v1_BatchOp__Output>
      BatchRequest: MessageTypeDefinition<_kvstore_v1_BatchRequest, _kvstore_v1_BatchRequest__Output>
      BatchResponse: MessageTypeDefinition<_kvstore_v1_BatchResponse, _kvstore_v1_BatchResponse__Output>
      DeleteOp: MessageTypeDefinition<_kvstore_v1_DeleteOp, _kvstore_v1_DeleteOp__Output>
      DeleteRequest: MessageTypeDefinition<_kvstore_v1_DeleteRequest, _kvstore_v1_DeleteRequest__Output>
      DeleteResponse: MessageTypeDefinition<_kvstore_v1_DeleteResponse, _kvstore_v1_DeleteResponse__Output>
      Entry: MessageTypeDefinition<_kvstore_v1_Entry, _kvstore_v1_Entry__Output>
      GetRequest: MessageTypeDefinition<_kvstore_v1_GetRequest, _kvstore_v1_GetRequest__Output>
      GetResponse: MessageTypeDefinition<_kvstore_v1_GetResponse, _kvstore_v1_GetResponse__Output>
      IncrRequest: MessageTypeDefinition<_kvstore_v1_IncrRequest, _kvstore_v1_IncrRequest__Output>
      IncrResponse: MessageTypeDefinition<_kvstore_v1_IncrResponse, _kvstore_v1_IncrResponse__Output>
      KV: SubtypeConstructor<typeof grpc.Client, _kvstore_v1_KVClient> & { service: _kvstore_v1_KVDefinition }
      KeyValue: MessageTypeDefinition<_kvstore_v1_KeyValue, _kvstore_v1_KeyValue__Output>
      PutOp: MessageTypeDefinition<_kvstore_v1_PutOp, _kvstore_v1_PutOp__Output>
      PutRequest: MessageTypeDefinition<_kvstore_v1_PutRequest, _kvstore_v1_PutRequest__Output>
      PutResponse: MessageTypeDefinition<_kvstore_v1_PutResponse, _kvstore_v1_PutResponse__Output>
      ScanRequest: MessageTypeDefinition<_kvstore_v1_ScanRequest, _kvstore_v1_ScanRequest__Output>
      ScanResponse: MessageTypeDefinition<_kvstore_v1_ScanResponse, _kvstore_v1_ScanResponse__Output>
    }
  }
}

