// Original file: proto/kvstore/v1/kv.proto

import type { WatchEvent as _kvstore_v1_WatchEvent, WatchEvent__Output as _kvstore_v1_WatchEvent__Output } from '../../kvstore/v1/WatchEvent.js';
import type { Long } from '@grpc/proto-loader';

export interface WatchResponse {
  /**
   * The first message has no events and from_version set: the watch is in place.
   */
  'fromVersion'?: (number | string | Long);
  /**
   * The record's version (LSN); every event in it has it.
   */
  'version'?: (number | string | Long);
  'events'?: (_kvstore_v1_WatchEvent)[];
}

export interface WatchResponse__Output {
  /**
   * The first message has no events and from_version set: the watch is in place.
   */
  'fromVersion': (string);
  /**
   * The record's version (LSN); every event in it has it.
   */
  'version': (string);
  'events': (_kvstore_v1_WatchEvent__Output)[];
}
