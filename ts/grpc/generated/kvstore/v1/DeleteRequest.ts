// Original file: proto/kvstore/v1/kv.proto

import type { Long } from '@grpc/proto-loader';

export interface DeleteRequest {
  'key'?: (Buffer | Uint8Array | string);
  'ifVersion'?: (number | string | Long);
  '_ifVersion'?: "ifVersion";
}

export interface DeleteRequest__Output {
  'key': (Buffer);
  'ifVersion'?: (string);
  '_ifVersion'?: "ifVersion";
}
