/**
 * `kvctl wal inspect` and `kvctl wal tail`: offline, read-only views of a data directory's
 * WAL (see wal-reader.ts). Neither takes LOCK nor writes anything.
 */
import fs from 'node:fs';
import readline from 'node:readline';
import { CliError, EXIT, type Cell, type Format, bytes, json, showKey, table } from './common.js';
import { type SegmentInfo, listSegments, lockHolder, readControl, requireDir } from './datadir.js';
import { type RecordView, kindName, scanSegment } from './wal-reader.js';

export interface InspectOptions {
  fromLsn?: bigint;
  toLsn?: bigint;
  limit?: number;
  segment?: string;
  values?: boolean;
  step?: boolean;
}

const SYS = Buffer.from('_sys.');

function crcColumn(r: RecordView): string {
  switch (r.status) {
    case 'crc':
      return 'BAD';
    case 'short':
      return 'torn';
    case 'zero':
      return 'zero';
    case 'length':
      return 'BAD-LEN';
    default:
      return 'ok';
  }
}

function valueText(key: Buffer, v: Buffer | undefined, max = 40): string {
  if (v === undefined) return '';
  if (key.subarray(0, SYS.length).equals(SYS)) return `(catalog, ${v.length} B)`;
  const head = v.subarray(0, max);
  const s = head.toString('utf8');
  // eslint-disable-next-line no-control-regex
  const text = Buffer.from(s, 'utf8').equals(head) && !/[\u0000-\u0008\u000e-\u001f]/.test(s) ? JSON.stringify(s) : '0x' + head.toString('hex');
  return v.length > max ? `${text}… (${v.length} B)` : text;
}

function keyColumn(r: RecordView): string {
  if (r.ops.length === 0) return r.detail ?? '';
  if (r.ops.length === 1) return showKey(r.ops[0]!.key);
  const list = r.ops.map((o) => `${o.op === 'del' ? '-' : ''}${showKey(o.key)}`).join(', ');
  return `${r.ops.length} ops: ${list.length > 60 ? list.slice(0, 59) + '…' : list}`;
}

export function recordJson(r: RecordView, values: boolean): Record<string, unknown> {
  return {
    segment: r.segment, offset: r.offset, lsn: r.lsn === null ? null : String(r.lsn), kind: r.kind, kindName: kindName(r.kind), size: r.size,
    crc: crcColumn(r), status: r.status, ...(r.verdict ? { verdict: r.verdict } : {}), ...(r.detail ? { detail: r.detail } : {}),
    ops: r.ops.map((o) => {
      const keyUtf8 = showKey(o.key);
      const sys = o.key.subarray(0, SYS.length).equals(SYS);
      return {
        op: o.op, key: keyUtf8, ...(o.value ? { valueSize: o.value.length } : {}), ...(o.expiresAt ? { expiresAt: new Date(o.expiresAt).toISOString() } : {}),
        ...(values && o.value && !sys ? { valueBase64: o.value.toString('base64') } : {}),
      };
    }),
  };
}

function row(r: RecordView, values: boolean): Cell[] {
  const cells: Cell[] = [r.lsn === null ? '?' : String(r.lsn), r.segment, r.offset, kindName(r.kind), r.size, crcColumn(r), keyColumn(r)];
  if (values) cells.push(r.ops.length === 1 ? valueText(r.ops[0]!.key, r.ops[0]!.value) : '');
  cells.push(r.verdict ? `${r.verdict}${r.detail && r.ops.length > 0 ? `: ${r.detail}` : ''}` : r.status === 'ok' ? '' : r.detail ?? '');
  return cells;
}

const COLUMNS = ['lsn', 'segment', 'offset', 'kind', 'size', 'crc', 'key'];

function detailed(r: RecordView): string {
  const lines = [
    `LSN ${r.lsn ?? '?'}  ${kindName(r.kind)}  ${r.size} B  CRC ${crcColumn(r)}  at ${r.segment}+${r.offset}${r.verdict ? `  [${r.verdict}]` : ''}`,
  ];
  if (r.detail) lines.push(`  ${r.detail}`);
  for (const o of r.ops) {
    lines.push(`  ${o.op.toUpperCase().padEnd(3)} ${showKey(o.key)}${o.value ? ` = ${valueText(o.key, o.value, 64)}` : ''}${o.expiresAt ? `  expires ${new Date(o.expiresAt).toISOString()}` : ''}`);
  }
  return lines.join('\n') + '\n';
}

/** Reads the WAL; returns the process exit status (1 when it holds corruption). */
export async function walInspect(dir: string, opts: InspectOptions, format: Format): Promise<number> {
  requireDir(dir);
  let segs = listSegments(dir);
  if (opts.segment) {
    segs = segs.filter((s) => s.name === opts.segment || s.name === `${opts.segment}.wal`);
    if (segs.length === 0) throw new CliError('NOT_FOUND', `no WAL segment ${opts.segment} in ${dir}/wal`);
  } else if (opts.fromLsn !== undefined) {
    // Segments wholly before from: their successor starts at or below it.
    const from = opts.fromLsn;
    segs = segs.filter((s, i) => !(segs[i + 1] && segs[i + 1]!.firstLsn <= from));
  }
  const all = listSegments(dir);
  const lastName = all[all.length - 1]?.name;
  const control = readControl(dir);
  const held = lockHolder(dir);

  const stepper = opts.step ? readline.createInterface({ input: process.stdin, terminal: false })[Symbol.asyncIterator]() : null;
  const shown: RecordView[] = [];
  let records = 0;
  let corrupt = 0;
  let torn = 0;
  let firstLsn: bigint | null = null;
  let lastLsn: bigint | null = null;
  let expected: bigint | null = null;
  let stop = false;
  const inRange = (r: RecordView): boolean => r.status !== 'ok' || r.lsn === null || ((opts.fromLsn === undefined || r.lsn >= opts.fromLsn) && (opts.toLsn === undefined || r.lsn <= opts.toLsn));

  for (const seg of segs) {
    if (stop) break;
    let buf: Buffer;
    try {
      buf = fs.readFileSync(seg.file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; // a checkpoint removed it meanwhile
      throw err;
    }
    const res = scanSegment(seg.name, buf, expected);
    const list = [...res.records];
    if (res.trailing) {
      const isLast = seg.name === lastName;
      res.trailing.verdict = isLast ? 'torn-tail' : 'corruption';
      res.trailing.detail = isLast
        ? `${res.trailing.status} record at the end of the last segment: recovery truncates it${held ? ' (or a write in progress: a server holds the directory)' : ''}`
        : `bad record (${res.trailing.status}) in a segment that is not the last: recovery refuses to open`;
      list.push(res.trailing);
    }
    expected = res.expected ?? expected;
    for (const r of list) {
      if (r.status === 'ok') {
        records++;
        if (r.lsn !== null) {
          firstLsn ??= r.lsn;
          lastLsn = r.lsn;
        }
      }
      if (r.verdict === 'corruption') corrupt++;
      if (r.verdict === 'torn-tail') torn++;
      if (!inRange(r)) continue;
      if (opts.toLsn !== undefined && r.status === 'ok' && r.lsn !== null && r.lsn > opts.toLsn) {
        stop = true;
        break;
      }
      if (stepper) {
        process.stdout.write(format === 'json' ? JSON.stringify(recordJson(r, opts.values === true)) + '\n' : detailed(r));
        process.stderr.write('-- Enter: next record, q: quit --\n');
        const next = await stepper.next();
        if (next.done || /^q/i.test(next.value.trim())) {
          stop = true;
          break;
        }
      } else shown.push(r);
      if (opts.limit !== undefined && shown.filter((x) => x.status === 'ok').length >= opts.limit) {
        stop = true;
        break;
      }
    }
  }
  const summary = {
    dataDir: dir,
    segments: all.length,
    walBytes: all.reduce((n, s) => n + s.bytes, 0),
    records, firstLsn: firstLsn === null ? null : String(firstLsn), lastLsn: lastLsn === null ? null : String(lastLsn),
    redoLsn: control ? String(control.redoLsn) : null,
    heldBy: held,
    corruptRecords: corrupt,
    tornTail: torn > 0,
    verdict: corrupt > 0 ? 'corrupt: recovery refuses to open (truncateCorruptTail cuts the WAL at the first bad record)' : torn > 0 ? 'torn tail: recovery truncates it' : 'clean',
    complete: !stop,
  };
  if (!stepper) {
    if (format === 'json') process.stdout.write(json({ records: shown.map((r) => recordJson(r, opts.values === true)), summary }));
    else {
      const cols = [...COLUMNS, ...(opts.values ? ['value'] : []), 'note'];
      process.stdout.write(table(cols, shown.map((r) => row(r, opts.values === true))));
      process.stdout.write(
        `\n${summary.segments} segment(s), ${bytes(summary.walBytes)}; ${records} record(s)${firstLsn !== null ? `, LSN ${firstLsn}..${lastLsn}` : ''}` +
          `${control ? `; redo LSN ${control.redoLsn} (earlier records are in the snapshot)` : '; no checkpoint yet'}` +
          `${held ? `; held by pid ${held}` : ''}${stop ? '; stopped early (limit / range)' : ''}\nverdict: ${summary.verdict}\n`,
      );
    }
  }
  return corrupt > 0 ? 1 : 0;
}

export interface TailOptions {
  lines: number;
  follow: boolean;
  intervalMs: number;
  values?: boolean;
}

const TAIL_WIDTHS = [10, 8, 8, 5];

function tailLine(r: RecordView, values: boolean): string {
  const cells = [r.lsn === null ? '?' : String(r.lsn), kindName(r.kind), String(r.size), crcColumn(r)];
  const key = keyColumn(r);
  const value = values && r.ops.length === 1 ? `  ${valueText(r.ops[0]!.key, r.ops[0]!.value)}` : '';
  const note = r.verdict ? `  [${r.verdict}${r.detail ? `: ${r.detail}` : ''}]` : '';
  return cells.map((c, i) => (i === 0 || i === 2 ? c.padStart(TAIL_WIDTHS[i]!) : c.padEnd(TAIL_WIDTHS[i]!))).join('  ') + '  ' + key + value + note + '\n';
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Prints the last records, then (follow) new ones as they are written, until Ctrl-C. */
export async function walTail(dir: string, opts: TailOptions, format: Format): Promise<void> {
  requireDir(dir);
  const print = (r: RecordView): void => void process.stdout.write(format === 'json' ? JSON.stringify(recordJson(r, opts.values === true)) + '\n' : tailLine(r, opts.values === true));
  if (format === 'table') process.stdout.write(['LSN'.padStart(10), 'KIND'.padEnd(8), 'SIZE'.padStart(8), 'CRC'.padEnd(5), 'KEY'].join('  ') + '\n');

  // The last `lines` records: read segments from the newest back until there are enough.
  const segs = listSegments(dir);
  const tailRecs: RecordView[] = [];
  let cur: { seg: SegmentInfo; offset: number; expected: bigint | null } | null = null;
  for (let i = segs.length - 1; i >= 0; i--) {
    let buf: Buffer;
    try {
      buf = fs.readFileSync(segs[i]!.file);
    } catch {
      continue;
    }
    const res = scanSegment(segs[i]!.name, buf, null);
    if (cur === null) cur = { seg: segs[i]!, offset: res.consumed, expected: res.expected };
    tailRecs.unshift(...res.records);
    if (tailRecs.length >= opts.lines) break;
  }
  for (const r of tailRecs.slice(Math.max(0, tailRecs.length - opts.lines))) print(r);
  if (!opts.follow) return;

  // Ctrl-C ends the follow cleanly with exit 130 (as shells report an interrupt); SIGTERM with 0.
  let stopped: NodeJS.Signals | null = null;
  const onSig = (signal: NodeJS.Signals): void => void (stopped = signal);
  process.on('SIGINT', onSig);
  process.on('SIGTERM', onSig);
  let fd: number | null = null;
  let fdName = '';
  let stalled = 0;
  try {
    while (!stopped) {
      const now = listSegments(dir);
      if (cur === null) {
        if (now.length > 0) cur = { seg: now[0]!, offset: 0, expected: null };
        else {
          await sleep(opts.intervalMs);
          continue;
        }
      }
      if (fdName !== cur.seg.name) {
        if (fd !== null) fs.closeSync(fd);
        fd = null;
        try {
          fd = fs.openSync(cur.seg.file, 'r');
          fdName = cur.seg.name;
        } catch {
          fdName = '';
        }
      }
      const newer = now.find((s) => s.name > cur!.seg.name);
      let grew = false;
      let trailing: RecordView | null = null;
      if (fd !== null) {
        const size = fs.fstatSync(fd).size;
        if (size > cur.offset) {
          const chunk = Buffer.alloc(size - cur.offset);
          const n = fs.readSync(fd, chunk, 0, chunk.length, cur.offset);
          const res = scanSegment(cur.seg.name, chunk.subarray(0, n), cur.expected, cur.offset);
          for (const r of res.records) print(r);
          if (res.consumed > 0) grew = true;
          cur.offset += res.consumed;
          cur.expected = res.expected ?? cur.expected;
          trailing = res.trailing;
        }
      }
      if (newer && !grew) {
        // The writer has moved on: what is left here will not grow. Wait one more poll for a
        // write that is still landing, then report leftover bytes as a torn tail and move on.
        if (trailing && ++stalled < 3) {
          await sleep(opts.intervalMs);
          continue;
        }
        if (trailing) {
          trailing.verdict = 'torn-tail';
          trailing.detail = 'left at the end of a segment the writer has moved past (a crash mid-write?)';
          print(trailing);
        }
        stalled = 0;
        cur = { seg: newer, offset: 0, expected: cur.expected };
        continue;
      }
      if (!grew) await sleep(opts.intervalMs);
    }
  } finally {
    if (fd !== null) fs.closeSync(fd);
    process.off('SIGINT', onSig);
    process.off('SIGTERM', onSig);
  }
  if (stopped === 'SIGINT') process.exitCode = EXIT.INTERRUPTED;
}
