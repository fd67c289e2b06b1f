// Original file: proto/kvstore/v1/kv.proto

import type { Long } from '@grpc/proto-loader';

export interface PutResult {
  'version'?: (number | string | Long);
}

export interface PutResult__Output {
  'version': (string);
}
