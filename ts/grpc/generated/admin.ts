import type * as grpc from '@grpc/grpc-js';
import type { MessageTypeDefinition } from '@grpc/proto-loader';

import type { AdminClient as _kvstore_v1_AdminClient, AdminDefinition as _kvstore_v1_AdminDefinition } from './kvstore/v1/Admin.js';
import type { CheckpointRequest as _kvstore_v1_CheckpointRequest, CheckpointRequest__Output as _kvstore_v1_CheckpointRequest__Output } from './kvstore/v1/CheckpointRequest.js';
import type { CheckpointResponse as _kvstore_v1_CheckpointResponse, CheckpointResponse__Output as _kvstore_v1_CheckpointResponse__Output } from './kvstore/v1/CheckpointResponse.js';
import type { StatsRequest as _kvstore_v1_StatsRequest, StatsRequest__Output as _kvstore_v1_StatsRequest__Output } from './kvstore/v1/StatsRequest.js';
import type { StatsResponse as _kvstore_v1_StatsResponse, StatsResponse__Output as _kvstore_v1_StatsResponse__Output } from './kvstore/v1/StatsResponse.js';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  kvstore: {
    v1: {
      Admin: SubtypeConstructor<typeof grpc.Client, _kvstore_v1_AdminClient> & { service: _kvstore_v1_AdminDefinition }
      CheckpointRequest: MessageTypeDefinition<_kvstore_v1_CheckpointRequest, _kvstore_v1_CheckpointRequest__Output>
      CheckpointResponse: MessageTypeDefinition<_kvstore_v1_CheckpointResponse, _kvstore_v1_CheckpointResponse__Output>
      StatsRequest: MessageTypeDefinition<_kvstore_v1_StatsRequest, _kvstore_v1_StatsRequest__Output>
      StatsResponse: MessageTypeDefinition<_kvstore_v1_StatsResponse, _kvstore_v1_StatsResponse__Output>
    }
  }
}

