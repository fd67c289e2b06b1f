import type * as grpc from '@grpc/grpc-js';
import type { MessageTypeDefinition } from '@grpc/proto-loader';

import type { AuthClient as _kvstore_v1_AuthClient, AuthDefinition as _kvstore_v1_AuthDefinition } from './kvstore/v1/Auth.js';
import type { LoginRequest as _kvstore_v1_LoginRequest, LoginRequest__Output as _kvstore_v1_LoginRequest__Output } from './kvstore/v1/LoginRequest.js';
import type { LoginResponse as _kvstore_v1_LoginResponse, LoginResponse__Output as _kvstore_v1_LoginResponse__Output } from './kvstore/v1/LoginResponse.js';
import type { WhoAmIRequest as _kvstore_v1_WhoAmIRequest, WhoAmIRequest__Output as _kvstore_v1_WhoAmIRequest__Output } from './kvstore/v1/WhoAmIRequest.js';
import type { WhoAmIResponse as _kvstore_v1_WhoAmIResponse, WhoAmIResponse__Output as _kvstore_v1_WhoAmIResponse__Output } from './kvstore/v1/WhoAmIResponse.js';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  kvstore: {
    v1: {
      Auth: SubtypeConstructor<typeof grpc.Client, _kvstore_v1_AuthClient> & { service: _kvstore_v1_AuthDefinition }
      LoginRequest: MessageTypeDefinition<_kvstore_v1_LoginRequest, _kvstore_v1_LoginRequest__Output>
      LoginResponse: MessageTypeDefinition<_kvstore_v1_LoginResponse, _kvstore_v1_LoginResponse__Output>
      WhoAmIRequest: MessageTypeDefinition<_kvstore_v1_WhoAmIRequest, _kvstore_v1_WhoAmIRequest__Output>
      WhoAmIResponse: MessageTypeDefinition<_kvstore_v1_WhoAmIResponse, _kvstore_v1_WhoAmIResponse__Output>
    }
  }
}

