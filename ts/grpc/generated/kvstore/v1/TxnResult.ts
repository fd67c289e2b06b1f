// Original file: proto/kvstore/v1/kv.proto

import type { PutResult as _kvstore_v1_PutResult, PutResult__Output as _kvstore_v1_PutResult__Output } from '../../kvstore/v1/PutResult.js';
import type { DeleteResult as _kvstore_v1_DeleteResult, DeleteResult__Output as _kvstore_v1_DeleteResult__Output } from '../../kvstore/v1/DeleteResult.js';
import type { GetResult as _kvstore_v1_GetResult, GetResult__Output as _kvstore_v1_GetResult__Output } from '../../kvstore/v1/GetResult.js';
import type { IncrResult as _kvstore_v1_IncrResult, IncrResult__Output as _kvstore_v1_IncrResult__Output } from '../../kvstore/v1/IncrResult.js';

export interface TxnResult {
  'put'?: (_kvstore_v1_PutResult | null);
  'del'?: (_kvstore_v1_DeleteResult | null);
  'get'?: (_kvstore_v1_GetResult | null);
  'incr'?: (_kvstore_v1_IncrResult | null);
  'result'?: "put"|"del"|"get"|"incr";
}

export interface TxnResult__Output {
  'put'?: (_kvstore_v1_PutResult__Output | null);
  'del'?: (_kvstore_v1_DeleteResult__Output | null);
  'get'?: (_kvstore_v1_GetResult__Output | null);
  'incr'?: (_kvstore_v1_IncrResult__Output | null);
  'result'?: "put"|"del"|"get"|"incr";
}
