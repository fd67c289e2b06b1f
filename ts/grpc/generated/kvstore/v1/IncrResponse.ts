// Original file: proto/kvstore/v1/kv.proto

import type { Long } from '@grpc/proto-loader';

export interface IncrResponse {
  'value'?: (number | string | Long);
}

export interface IncrResponse__Output {
  'value': (string);
}
