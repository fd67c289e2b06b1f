// Original file: proto/kvstore/v1/kv.proto

import type { Long } from '@grpc/proto-loader';

export interface IncrOp {
  'key'?: (Buffer | Uint8Array | string);
  /**
   * Unset = 1.
   */
  'by'?: (number | string | Long);
  '_by'?: "by";
}

export interface IncrOp__Output {
  'key': (Buffer);
  /**
   * Unset = 1.
   */
  'by'?: (string);
  '_by'?: "by";
}
