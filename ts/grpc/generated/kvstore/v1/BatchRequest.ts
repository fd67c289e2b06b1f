// Original file: proto/kvstore/v1/kv.proto

import type { BatchOp as _kvstore_v1_BatchOp, BatchOp__Output as _kvstore_v1_BatchOp__Output } from '../../kvstore/v1/BatchOp.js';

export interface BatchRequest {
  'ops'?: (_kvstore_v1_BatchOp)[];
}

export interface BatchRequest__Output {
  'ops': (_kvstore_v1_BatchOp__Output)[];
}
