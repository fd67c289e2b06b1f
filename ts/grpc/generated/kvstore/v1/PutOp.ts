// Original file: proto/kvstore/v1/kv.proto


export interface PutOp {
  'key'?: (Buffer | Uint8Array | string);
  'value'?: (Buffer | Uint8Array | string);
  'ttlMs'?: (number | string);
  '_ttlMs'?: "ttlMs";
}

export interface PutOp__Output {
  'key': (Buffer);
  'value': (Buffer);
  'ttlMs'?: (number);
  '_ttlMs'?: "ttlMs";
}
