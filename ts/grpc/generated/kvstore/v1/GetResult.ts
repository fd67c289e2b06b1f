// Original file: proto/kvstore/v1/kv.proto

import type { Entry as _kvstore_v1_Entry, Entry__Output as _kvstore_v1_Entry__Output } from '../../kvstore/v1/Entry.js';

export interface GetResult {
  /**
   * Unset: absent.
   */
  'entry'?: (_kvstore_v1_Entry | null);
}

export interface GetResult__Output {
  /**
   * Unset: absent.
   */
  'entry': (_kvstore_v1_Entry__Output | null);
}
