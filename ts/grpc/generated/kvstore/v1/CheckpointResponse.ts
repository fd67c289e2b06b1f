// Original file: proto/kvstore/v1/admin.proto

import type { Long } from '@grpc/proto-loader';

export interface CheckpointResponse {
  'redoLsn'?: (number | string | Long);
}

export interface CheckpointResponse__Output {
  'redoLsn': (string);
}
