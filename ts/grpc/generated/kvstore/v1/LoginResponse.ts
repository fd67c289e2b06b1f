// Original file: proto/kvstore/v1/auth.proto

import type { Long } from '@grpc/proto-loader';

export interface LoginResponse {
  'token'?: (string);
  'expiresAtMs'?: (number | string | Long);
}

export interface LoginResponse__Output {
  'token': (string);
  'expiresAtMs': (string);
}
