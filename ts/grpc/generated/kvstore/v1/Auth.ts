// Original file: proto/kvstore/v1/auth.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { LoginRequest as _kvstore_v1_LoginRequest, LoginRequest__Output as _kvstore_v1_LoginRequest__Output } from '../../kvstore/v1/LoginRequest.js';
import type { LoginResponse as _kvstore_v1_LoginResponse, LoginResponse__Output as _kvstore_v1_LoginResponse__Output } from '../../kvstore/v1/LoginResponse.js';
import type { WhoAmIRequest as _kvstore_v1_WhoAmIRequest, WhoAmIRequest__Output as _kvstore_v1_WhoAmIRequest__Output } from '../../kvstore/v1/WhoAmIRequest.js';
import type { WhoAmIResponse as _kvstore_v1_WhoAmIResponse, WhoAmIResponse__Output as _kvstore_v1_WhoAmIResponse__Output } from '../../kvstore/v1/WhoAmIResponse.js';

export interface AuthClient extends grpc.Client {
  /**
   * Needs no credentials; rate-limited per client IP (login_rate_limit). AUTH_FAILED on any
   * failure, AUTH_DISABLED when the server runs without authentication.
   */
  Login(argument: _kvstore_v1_LoginRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kvstore_v1_LoginResponse__Output>): grpc.ClientUnaryCall;
  Login(argument: _kvstore_v1_LoginRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kvstore_v1_LoginResponse__Output>): grpc.ClientUnaryCall;
  Login(argument: _kvstore_v1_LoginRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kvstore_v1_LoginResponse__Output>): grpc.ClientUnaryCall;
  Login(argument: _kvstore_v1_LoginRequest, callback: grpc.requestCallback<_kvstore_v1_LoginResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Needs no credentials; rate-limited per client IP (login_rate_limit). AUTH_FAILED on any
   * failure, AUTH_DISABLED when the server runs without authentication.
   */
  login(argument: _kvstore_v1_LoginRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kvstore_v1_LoginResponse__Output>): grpc.ClientUnaryCall;
  login(argument: _kvstore_v1_LoginRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kvstore_v1_LoginResponse__Output>): grpc.ClientUnaryCall;
  login(argument: _kvstore_v1_LoginRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kvstore_v1_LoginResponse__Output>): grpc.ClientUnaryCall;
  login(argument: _kvstore_v1_LoginRequest, callback: grpc.requestCallback<_kvstore_v1_LoginResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * Who the credentials on this call belong to.
   */
  WhoAmI(argument: _kvstore_v1_WhoAmIRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kvstore_v1_WhoAmIResponse__Output>): grpc.ClientUnaryCall;
  WhoAmI(argument: _kvstore_v1_WhoAmIRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kvstore_v1_WhoAmIResponse__Output>): grpc.ClientUnaryCall;
  WhoAmI(argument: _kvstore_v1_WhoAmIRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kvstore_v1_WhoAmIResponse__Output>): grpc.ClientUnaryCall;
  WhoAmI(argument: _kvstore_v1_WhoAmIRequest, callback: grpc.requestCallback<_kvstore_v1_WhoAmIResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Who the credentials on this call belong to.
   */
  whoAmI(argument: _kvstore_v1_WhoAmIRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kvstore_v1_WhoAmIResponse__Output>): grpc.ClientUnaryCall;
  whoAmI(argument: _kvstore_v1_WhoAmIRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kvstore_v1_WhoAmIResponse__Output>): grpc.ClientUnaryCall;
  whoAmI(argument: _kvstore_v1_WhoAmIRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kvstore_v1_WhoAmIResponse__Output>): grpc.ClientUnaryCall;
  whoAmI(argument: _kvstore_v1_WhoAmIRequest, callback: grpc.requestCallback<_kvstore_v1_WhoAmIResponse__Output>): grpc.ClientUnaryCall;
  
}

export interface AuthHandlers extends grpc.UntypedServiceImplementation {
  /**
   * Needs no credentials; rate-limited per client IP (login_rate_limit). AUTH_FAILED on any
   * failure, AUTH_DISABLED when the server runs without authentication.
   */
  Login: grpc.handleUnaryCall<_kvstore_v1_LoginRequest__Output, _kvstore_v1_LoginResponse>;
  
  /**
   * Who the credentials on this call belong to.
   */
  WhoAmI: grpc.handleUnaryCall<_kvstore_v1_WhoAmIRequest__Output, _kvstore_v1_WhoAmIResponse>;
  
}

export interface AuthDefinition extends grpc.ServiceDefinition {
  Login: MethodDefinition<_kvstore_v1_LoginRequest, _kvstore_v1_LoginResponse, _kvstore_v1_LoginRequest__Output, _kvstore_v1_LoginResponse__Output>
  WhoAmI: MethodDefinition<_kvstore_v1_WhoAmIRequest, _kvstore_v1_WhoAmIResponse, _kvstore_v1_WhoAmIRequest__Output, _kvstore_v1_WhoAmIResponse__Output>
}
