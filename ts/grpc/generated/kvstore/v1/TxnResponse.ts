// Original file: proto/kvstore/v1/kv.proto

import type { TxnResult as _kvstore_v1_TxnResult, TxnResult__Output as _kvstore_v1_TxnResult__Output } from '../../kvstore/v1/TxnResult.js';
import type { Long } from '@grpc/proto-loader';

export interface TxnResponse {
  'succeeded'?: (boolean);
  /**
   * The LSN of the transaction's WAL record; 0 when the branch that ran wrote nothing.
   */
  'version'?: (number | string | Long);
  /**
   * One per op of the branch that ran, in order.
   */
  'results'?: (_kvstore_v1_TxnResult)[];
}

export interface TxnResponse__Output {
  'succeeded': (boolean);
  /**
   * The LSN of the transaction's WAL record; 0 when the branch that ran wrote nothing.
   */
  'version': (string);
  /**
   * One per op of the branch that ran, in order.
   */
  'results': (_kvstore_v1_TxnResult__Output)[];
}
