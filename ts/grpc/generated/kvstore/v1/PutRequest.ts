// Original file: proto/kvstore/v1/kv.proto

import type { Long } from '@grpc/proto-loader';

export interface PutRequest {
  'key'?: (Buffer | Uint8Array | string);
  'value'?: (Buffer | Uint8Array | string);
  /**
   * Time to live, ms (> 0); unset = the entry does not expire.
   */
  'ttlMs'?: (number | string);
  /**
   * Compare-and-swap: write only if the entry's version is this; 0 = only if absent.
   */
  'ifVersion'?: (number | string | Long);
  '_ttlMs'?: "ttlMs";
  '_ifVersion'?: "ifVersion";
}

export interface PutRequest__Output {
  'key': (Buffer);
  'value': (Buffer);
  /**
   * Time to live, ms (> 0); unset = the entry does not expire.
   */
  'ttlMs'?: (number);
  /**
   * Compare-and-swap: write only if the entry's version is this; 0 = only if absent.
   */
  'ifVersion'?: (string);
  '_ttlMs'?: "ttlMs";
  '_ifVersion'?: "ifVersion";
}
