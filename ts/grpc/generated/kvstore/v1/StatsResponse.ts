// Original file: proto/kvstore/v1/admin.proto

import type { Long } from '@grpc/proto-loader';

/**
 * The figures of the embedded store.stats() (docs/api.md), one field each.
 */
export interface StatsResponse {
  /**
   * "native" or "js".
   */
  'engine'?: (string);
  /**
   * "always", "interval" or "none".
   */
  'durability'?: (string);
  /**
   * Every entry, the catalog's included; catalog_keys counts those under "_sys.".
   */
  'keys'?: (number | string | Long);
  'catalogKeys'?: (number | string | Long);
  'nextLsn'?: (number | string | Long);
  'durableLsn'?: (number | string | Long);
  'walBytes'?: (number | string | Long);
  'walSegments'?: (number | string | Long);
  'lastCheckpointLsn'?: (number | string | Long);
  'checkpoints'?: (number | string | Long);
  'fsyncs'?: (number | string | Long);
  'maxGroupCommit'?: (number | string | Long);
  'fsyncBuckets'?: (number | string | Long)[];
  'fsyncMicros'?: (number | string | Long);
  'groupBuckets'?: (number | string | Long)[];
  'groupRecords'?: (number | string | Long);
  'expired'?: (number | string | Long);
  /**
   * Replication (docs/replication.md): every record <= flushed_lsn is fdatasynced, every
   * record <= applied_lsn is visible to reads; role is "primary" or "standby".
   */
  'flushedLsn'?: (number | string | Long);
  'appliedLsn'?: (number | string | Long);
  'role'?: (string);
  /**
   * When the last checkpoint was taken (its control file), ms since the epoch; 0 before the first.
   */
  'lastCheckpointTimeMs'?: (number | string | Long);
}

/**
 * The figures of the embedded store.stats() (docs/api.md), one field each.
 */
export interface StatsResponse__Output {
  /**
   * "native" or "js".
   */
  'engine': (string);
  /**
   * "always", "interval" or "none".
   */
  'durability': (string);
  /**
   * Every entry, the catalog's included; catalog_keys counts those under "_sys.".
   */
  'keys': (string);
  'catalogKeys': (string);
  'nextLsn': (string);
  'durableLsn': (string);
  'walBytes': (string);
  'walSegments': (string);
  'lastCheckpointLsn': (string);
  'checkpoints': (string);
  'fsyncs': (string);
  'maxGroupCommit': (string);
  'fsyncBuckets': (string)[];
  'fsyncMicros': (string);
  'groupBuckets': (string)[];
  'groupRecords': (string);
  'expired': (string);
  /**
   * Replication (docs/replication.md): every record <= flushed_lsn is fdatasynced, every
   * record <= applied_lsn is visible to reads; role is "primary" or "standby".
   */
  'flushedLsn': (string);
  'appliedLsn': (string);
  'role': (string);
  /**
   * When the last checkpoint was taken (its control file), ms since the epoch; 0 before the first.
   */
  'lastCheckpointTimeMs': (string);
}
