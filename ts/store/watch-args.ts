/**
 * The arguments of watch(), embedded (ts/store/watch.ts) and remote (ts/client/client.ts)
 * alike, in a file of its own so the client does not load the WAL reader to check them.
 */
import { KvError } from '../errors.js';
import { checkOptions, optionNames } from '../options.js';
import type { WatchOptions, WatchRange } from './watch.js';

const OPTION_NAMES = optionNames<WatchOptions>({ fromVersion: true, maxQueue: true });

/**
 * watch()'s two forms as one (range, options): `watch({ prefix, fromVersion, maxQueue })` (the
 * options inside the range object) and `watch({ prefix }, { fromVersion, maxQueue })`. An
 * option given in both places is INVALID_ARGUMENT, even with the same value; unknown names
 * stay UNKNOWN_OPTION (checked by the caller on what this returns).
 */
export function splitWatchArgs(arg: WatchRange & WatchOptions, options: WatchOptions = {}): { range: WatchRange; options: WatchOptions } {
  if (arg === null || typeof arg !== 'object') throw new KvError('INVALID_ARGUMENT', 'watch needs a range: { prefix } or { start, end } ({} for every key)');
  checkOptions('watch', options, OPTION_NAMES);
  const range: Record<string, unknown> = {};
  const merged: Record<string, unknown> = { ...options };
  for (const name in arg) {
    const v = (arg as Record<string, unknown>)[name];
    if (name !== 'fromVersion' && name !== 'maxQueue') range[name] = v;
    else if (v === undefined) continue;
    else if (merged[name] !== undefined) throw new KvError('INVALID_ARGUMENT', `watch: ${name} is given twice, in the range object and in the options; give it once`);
    else merged[name] = v;
  }
  return { range, options: merged };
}
