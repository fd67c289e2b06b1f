// Original file: proto/kvstore/v1/kv.proto

import type { Long } from '@grpc/proto-loader';

export interface WatchEvent {
  /**
   * "put" or "del" ("expire" is reserved; never sent by this version).
   */
  'type'?: (string);
  'key'?: (Buffer | Uint8Array | string);
  'value'?: (Buffer | Uint8Array | string);
  /**
   * On put: when the entry expires, 0 = never.
   */
  'expiresAtMs'?: (number | string | Long);
}

export interface WatchEvent__Output {
  /**
   * "put" or "del" ("expire" is reserved; never sent by this version).
   */
  'type': (string);
  'key': (Buffer);
  'value': (Buffer);
  /**
   * On put: when the entry expires, 0 = never.
   */
  'expiresAtMs': (string);
}
