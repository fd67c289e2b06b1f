// Original file: proto/kvstore/v1/kv.proto


export interface ScanRequest {
  /**
   * Only keys starting with these bytes; combines with start/end.
   */
  'prefix'?: (Buffer | Uint8Array | string);
  /**
   * Inclusive lower bound.
   */
  'start'?: (Buffer | Uint8Array | string);
  /**
   * Exclusive upper bound.
   */
  'end'?: (Buffer | Uint8Array | string);
  /**
   * Entries per page, 1..1000; 0 = 100.
   */
  'limit'?: (number);
  /**
   * From the previous page's response; empty for the first page.
   */
  'cursor'?: (Buffer | Uint8Array | string);
  'reverse'?: (boolean);
  /**
   * Leave values out (then only the scan permission is needed, not read).
   */
  'keysOnly'?: (boolean);
  '_start'?: "start";
  '_end'?: "end";
}

export interface ScanRequest__Output {
  /**
   * Only keys starting with these bytes; combines with start/end.
   */
  'prefix': (Buffer);
  /**
   * Inclusive lower bound.
   */
  'start'?: (Buffer);
  /**
   * Exclusive upper bound.
   */
  'end'?: (Buffer);
  /**
   * Entries per page, 1..1000; 0 = 100.
   */
  'limit': (number);
  /**
   * From the previous page's response; empty for the first page.
   */
  'cursor': (Buffer);
  'reverse': (boolean);
  /**
   * Leave values out (then only the scan permission is needed, not read).
   */
  'keysOnly': (boolean);
  '_start'?: "start";
  '_end'?: "end";
}
