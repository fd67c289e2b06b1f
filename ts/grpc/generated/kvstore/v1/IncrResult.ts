// Original file: proto/kvstore/v1/kv.proto

import type { Long } from '@grpc/proto-loader';

export interface IncrResult {
  'value'?: (number | string | Long);
}

export interface IncrResult__Output {
  'value': (string);
}
