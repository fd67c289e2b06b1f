// Original file: proto/kvstore/v1/kv.proto

import type { PutOp as _kvstore_v1_PutOp, PutOp__Output as _kvstore_v1_PutOp__Output } from '../../kvstore/v1/PutOp.js';
import type { DeleteOp as _kvstore_v1_DeleteOp, DeleteOp__Output as _kvstore_v1_DeleteOp__Output } from '../../kvstore/v1/DeleteOp.js';

export interface BatchOp {
  'put'?: (_kvstore_v1_PutOp | null);
  'del'?: (_kvstore_v1_DeleteOp | null);
  'op'?: "put"|"del";
}

export interface BatchOp__Output {
  'put'?: (_kvstore_v1_PutOp__Output | null);
  'del'?: (_kvstore_v1_DeleteOp__Output | null);
  'op'?: "put"|"del";
}
