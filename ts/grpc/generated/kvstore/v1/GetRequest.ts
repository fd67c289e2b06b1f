// Original file: proto/kvstore/v1/kv.proto


export interface GetRequest {
  'key'?: (Buffer | Uint8Array | string);
}

export interface GetRequest__Output {
  'key': (Buffer);
}
