// Original file: proto/kvstore/v1/kv.proto

import type { Compare as _kvstore_v1_Compare, Compare__Output as _kvstore_v1_Compare__Output } from '../../kvstore/v1/Compare.js';
import type { TxnOp as _kvstore_v1_TxnOp, TxnOp__Output as _kvstore_v1_TxnOp__Output } from '../../kvstore/v1/TxnOp.js';

export interface TxnRequest {
  'compare'?: (_kvstore_v1_Compare)[];
  'success'?: (_kvstore_v1_TxnOp)[];
  'failure'?: (_kvstore_v1_TxnOp)[];
}

export interface TxnRequest__Output {
  'compare': (_kvstore_v1_Compare__Output)[];
  'success': (_kvstore_v1_TxnOp__Output)[];
  'failure': (_kvstore_v1_TxnOp__Output)[];
}
