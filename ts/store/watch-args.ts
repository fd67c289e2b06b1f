/**
 * The arguments of watch(), embedded (ts/store/watch.ts) and remote (ts/client/client.ts)
 * alike, in a file of its own so the client does not load the WAL reader to check them.
 */
import { KvError } from '../errors.js';
import { checkOptions, optionNames } from '../options.js';
import type { WatchOptions, WatchRange } from './watch.js';

const OPTION_NAMES = optionNames<WatchOptions>({ fromVersion: true, maxQueue: true });
// The options are named too, so a misspelled one in the single-object form gets a suggestion.
const RANGE_NAMES = [...optionNames<WatchRange>({ prefix: true, start: true, end: true }), ...OPTION_NAMES];

/**
 * watch()'s two forms as one (range, options): `watch({ prefix, fromVersion, maxQueue })` (the
 * options inside the range object) and `watch({ prefix }, { fromVersion, maxQueue })`. An
 * option given in both places is INVALID_ARGUMENT, even with the same value; an unknown
 * name in either is UNKNOWN_OPTION.
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
  checkOptions('watch range', range, RANGE_NAMES);
  return { range, options: merged };
}
