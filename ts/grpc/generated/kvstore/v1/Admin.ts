// Original file: proto/kvstore/v1/admin.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { CheckpointRequest as _kvstore_v1_CheckpointRequest, CheckpointRequest__Output as _kvstore_v1_CheckpointRequest__Output } from '../../kvstore/v1/CheckpointRequest.js';
import type { CheckpointResponse as _kvstore_v1_CheckpointResponse, CheckpointResponse__Output as _kvstore_v1_CheckpointResponse__Output } from '../../kvstore/v1/CheckpointResponse.js';
import type { StatsRequest as _kvstore_v1_StatsRequest, StatsRequest__Output as _kvstore_v1_StatsRequest__Output } from '../../kvstore/v1/StatsRequest.js';
import type { StatsResponse as _kvstore_v1_StatsResponse, StatsResponse__Output as _kvstore_v1_StatsResponse__Output } from '../../kvstore/v1/StatsResponse.js';

export interface AdminClient extends grpc.Client {
  /**
   * A fuzzy checkpoint now; reads and writes continue meanwhile.
   */
  Checkpoint(argument: _kvstore_v1_CheckpointRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kvstore_v1_CheckpointResponse__Output>): grpc.ClientUnaryCall;
  Checkpoint(argument: _kvstore_v1_CheckpointRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kvstore_v1_CheckpointResponse__Output>): grpc.ClientUnaryCall;
  Checkpoint(argument: _kvstore_v1_CheckpointRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kvstore_v1_CheckpointResponse__Output>): grpc.ClientUnaryCall;
  Checkpoint(argument: _kvstore_v1_CheckpointRequest, callback: grpc.requestCallback<_kvstore_v1_CheckpointResponse__Output>): grpc.ClientUnaryCall;
  /**
   * A fuzzy checkpoint now; reads and writes continue meanwhile.
   */
  checkpoint(argument: _kvstore_v1_CheckpointRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kvstore_v1_CheckpointResponse__Output>): grpc.ClientUnaryCall;
  checkpoint(argument: _kvstore_v1_CheckpointRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kvstore_v1_CheckpointResponse__Output>): grpc.ClientUnaryCall;
  checkpoint(argument: _kvstore_v1_CheckpointRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kvstore_v1_CheckpointResponse__Output>): grpc.ClientUnaryCall;
  checkpoint(argument: _kvstore_v1_CheckpointRequest, callback: grpc.requestCallback<_kvstore_v1_CheckpointResponse__Output>): grpc.ClientUnaryCall;
  
  Stats(argument: _kvstore_v1_StatsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kvstore_v1_StatsResponse__Output>): grpc.ClientUnaryCall;
  Stats(argument: _kvstore_v1_StatsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kvstore_v1_StatsResponse__Output>): grpc.ClientUnaryCall;
  Stats(argument: _kvstore_v1_StatsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kvstore_v1_StatsResponse__Output>): grpc.ClientUnaryCall;
  Stats(argument: _kvstore_v1_StatsRequest, callback: grpc.requestCallback<_kvstore_v1_StatsResponse__Output>): grpc.ClientUnaryCall;
  stats(argument: _kvstore_v1_StatsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kvstore_v1_StatsResponse__Output>): grpc.ClientUnaryCall;
  stats(argument: _kvstore_v1_StatsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kvstore_v1_StatsResponse__Output>): grpc.ClientUnaryCall;
  stats(argument: _kvstore_v1_StatsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kvstore_v1_StatsResponse__Output>): grpc.ClientUnaryCall;
  stats(argument: _kvstore_v1_StatsRequest, callback: grpc.requestCallback<_kvstore_v1_StatsResponse__Output>): grpc.ClientUnaryCall;
  
}

export interface AdminHandlers extends grpc.UntypedServiceImplementation {
  /**
   * A fuzzy checkpoint now; reads and writes continue meanwhile.
   */
  Checkpoint: grpc.handleUnaryCall<_kvstore_v1_CheckpointRequest__Output, _kvstore_v1_CheckpointResponse>;
  
  Stats: grpc.handleUnaryCall<_kvstore_v1_StatsRequest__Output, _kvstore_v1_StatsResponse>;
  
}

export interface AdminDefinition extends grpc.ServiceDefinition {
  Checkpoint: MethodDefinition<_kvstore_v1_CheckpointRequest, _kvstore_v1_CheckpointResponse, _kvstore_v1_CheckpointRequest__Output, _kvstore_v1_CheckpointResponse__Output>
  Stats: MethodDefinition<_kvstore_v1_StatsRequest, _kvstore_v1_StatsResponse, _kvstore_v1_StatsRequest__Output, _kvstore_v1_StatsResponse__Output>
}
