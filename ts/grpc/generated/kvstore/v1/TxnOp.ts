// Original file: proto/kvstore/v1/kv.proto

import type { PutOp as _kvstore_v1_PutOp, PutOp__Output as _kvstore_v1_PutOp__Output } from '../../kvstore/v1/PutOp.js';
import type { DeleteOp as _kvstore_v1_DeleteOp, DeleteOp__Output as _kvstore_v1_DeleteOp__Output } from '../../kvstore/v1/DeleteOp.js';
import type { GetOp as _kvstore_v1_GetOp, GetOp__Output as _kvstore_v1_GetOp__Output } from '../../kvstore/v1/GetOp.js';
import type { IncrOp as _kvstore_v1_IncrOp, IncrOp__Output as _kvstore_v1_IncrOp__Output } from '../../kvstore/v1/IncrOp.js';

export interface TxnOp {
  'put'?: (_kvstore_v1_PutOp | null);
  'del'?: (_kvstore_v1_DeleteOp | null);
  'get'?: (_kvstore_v1_GetOp | null);
  'incr'?: (_kvstore_v1_IncrOp | null);
  'op'?: "put"|"del"|"get"|"incr";
}

export interface TxnOp__Output {
  'put'?: (_kvstore_v1_PutOp__Output | null);
  'del'?: (_kvstore_v1_DeleteOp__Output | null);
  'get'?: (_kvstore_v1_GetOp__Output | null);
  'incr'?: (_kvstore_v1_IncrOp__Output | null);
  'op'?: "put"|"del"|"get"|"incr";
}
