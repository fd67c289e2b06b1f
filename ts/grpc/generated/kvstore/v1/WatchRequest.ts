// Original file: proto/kvstore/v1/kv.proto

import type { Long } from '@grpc/proto-loader';

export interface WatchRequest {
  'prefix'?: (Buffer | Uint8Array | string);
  'start'?: (Buffer | Uint8Array | string);
  'end'?: (Buffer | Uint8Array | string);
  /**
   * First version to report (>= 1); unset = writes after the watch is in place.
   */
  'fromVersion'?: (number | string | Long);
  /**
   * Events queued for this caller at most before it is cut (WATCH_LAGGED); 0 = 10,000.
   */
  'maxQueue'?: (number);
  '_start'?: "start";
  '_end'?: "end";
  '_fromVersion'?: "fromVersion";
}

export interface WatchRequest__Output {
  'prefix': (Buffer);
  'start'?: (Buffer);
  'end'?: (Buffer);
  /**
   * First version to report (>= 1); unset = writes after the watch is in place.
   */
  'fromVersion'?: (string);
  /**
   * Events queued for this caller at most before it is cut (WATCH_LAGGED); 0 = 10,000.
   */
  'maxQueue': (number);
  '_start'?: "start";
  '_end'?: "end";
  '_fromVersion'?: "fromVersion";
}
