// Original file: proto/kvstore/v1/kv.proto


export interface KeyValue {
  'key'?: (Buffer | Uint8Array | string);
  /**
   * Empty with keys_only.
   */
  'value'?: (Buffer | Uint8Array | string);
}

export interface KeyValue__Output {
  'key': (Buffer);
  /**
   * Empty with keys_only.
   */
  'value': (Buffer);
}
