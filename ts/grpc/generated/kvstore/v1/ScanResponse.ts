// Original file: proto/kvstore/v1/kv.proto

import type { KeyValue as _kvstore_v1_KeyValue, KeyValue__Output as _kvstore_v1_KeyValue__Output } from '../../kvstore/v1/KeyValue.js';

export interface ScanResponse {
  'items'?: (_kvstore_v1_KeyValue)[];
  /**
   * Non-empty: more entries may follow; send it back as ScanRequest.cursor (with the same
   * prefix/start/end/reverse). Empty: this page is the last.
   */
  'cursor'?: (Buffer | Uint8Array | string);
}

export interface ScanResponse__Output {
  'items': (_kvstore_v1_KeyValue__Output)[];
  /**
   * Non-empty: more entries may follow; send it back as ScanRequest.cursor (with the same
   * prefix/start/end/reverse). Empty: this page is the last.
   */
  'cursor': (Buffer);
}
