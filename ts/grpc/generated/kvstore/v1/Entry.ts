// Original file: proto/kvstore/v1/kv.proto

import type { Long } from '@grpc/proto-loader';

export interface Entry {
  'value'?: (Buffer | Uint8Array | string);
  'version'?: (number | string | Long);
  /**
   * 0 = does not expire.
   */
  'expiresAtMs'?: (number | string | Long);
}

export interface Entry__Output {
  'value': (Buffer);
  'version': (string);
  /**
   * 0 = does not expire.
   */
  'expiresAtMs': (string);
}
