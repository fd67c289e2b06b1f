// Original file: proto/kvstore/v1/kv.proto

import type { Long } from '@grpc/proto-loader';

export interface Compare {
  'key'?: (Buffer | Uint8Array | string);
  /**
   * "=", "!=", "<" or ">".
   */
  'op'?: (string);
  /**
   * An absent key has version 0.
   */
  'version'?: (number | string | Long);
  /**
   * Bytewise; a value compare on an absent key is false whatever the op.
   */
  'value'?: (Buffer | Uint8Array | string);
  /**
   * Only with "=" or "!=".
   */
  'exists'?: (boolean);
  'target'?: "version"|"value"|"exists";
}

export interface Compare__Output {
  'key': (Buffer);
  /**
   * "=", "!=", "<" or ">".
   */
  'op': (string);
  /**
   * An absent key has version 0.
   */
  'version'?: (string);
  /**
   * Bytewise; a value compare on an absent key is false whatever the op.
   */
  'value'?: (Buffer);
  /**
   * Only with "=" or "!=".
   */
  'exists'?: (boolean);
  'target'?: "version"|"value"|"exists";
}
