// Original file: proto/kvstore/v1/kv.proto

import type { Long } from '@grpc/proto-loader';

export interface BatchResponse {
  /**
   * The one version every entry the batch wrote now has.
   */
  'version'?: (number | string | Long);
}

export interface BatchResponse__Output {
  /**
   * The one version every entry the batch wrote now has.
   */
  'version': (string);
}
