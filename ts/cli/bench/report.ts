/**
 * kvb's reports: <prefix>.json (everything, including the latency distributions and the
 * per-second timelines), <prefix>.csv (one row per scenario) and <prefix>.html — one
 * self-contained file (inline CSS and SVG, no scripts or fonts fetched) with a latency
 * distribution chart, a throughput-over-time chart and the result table.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ScenarioResult } from './closed-loop.js';

export interface Machine {
  cpus: number;
  cpuModel: string;
  memoryGiB: number;
  node: string;
  platform: string;
  hostname: string;
}

export function machine(): Machine {
  const cpus = os.cpus();
  return {
    cpus: cpus.length, cpuModel: cpus[0]?.model.trim() ?? 'unknown', memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version, platform: `${os.type()} ${os.release()} ${os.arch()}`, hostname: os.hostname(),
  };
}

export interface SuiteReport {
  tool: 'kvb';
  version: string;
  command: string;
  startedAt: string;
  finishedAt: string;
  interrupted: boolean;
  machine: Machine;
  target: { url: string; engine: string | null; auth: boolean };
  params: { concurrency: number; connections: number; durationS: number; warmupS: number; keys: number; valueSize: number; keyPrefix: string };
  scenarios: ScenarioResult[];
}

export const CSV_COLUMNS = [
  'scenario', 'mix', 'concurrency', 'duration_s', 'requests', 'errors', 'throughput_rps',
  'mean_ms', 'p50_ms', 'p90_ms', 'p99_ms', 'p999_ms', 'max_ms', 'client_cpu_pct', 'interrupted',
] as const;

function csvCell(v: string | number | boolean): string {
  const s = String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function toCsv(scenarios: readonly ScenarioResult[]): string {
  const rows = scenarios.map((s) => [
    s.name, s.mixLabel, s.concurrency, s.durationS, s.requests, s.errors, s.throughput,
    s.latency.meanMs, s.latency.p50Ms, s.latency.p90Ms, s.latency.p99Ms, s.latency.p999Ms, s.latency.maxMs, s.client.cpuPercent, s.interrupted,
  ].map(csvCell).join(','));
  return [CSV_COLUMNS.join(','), ...rows].join('\n') + '\n';
}

/** The result table as Markdown (for bench/KVB.md and the terminal). */
export function toMarkdown(scenarios: readonly ScenarioResult[]): string {
  const head = '| scenario | mix | conc. | requests | errors | req/s | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms | kvb CPU |';
  const sep = '|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|';
  const rows = scenarios.map((s) =>
    `| ${s.name}${s.interrupted ? ' (interrupted)' : ''} | ${s.mixLabel} | ${s.concurrency} | ${s.requests} | ${s.errors} | ${s.throughput} | ${s.latency.p50Ms} | ${s.latency.p90Ms} | ${s.latency.p99Ms} | ${s.latency.p999Ms} | ${s.latency.maxMs} | ${s.client.cpuPercent}% |`);
  return [head, sep, ...rows].join('\n') + '\n';
}

// ---------------------------------------------------------------- HTML

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#17becf', '#8c564b'];
/** "get 95% / set 5%" → "get 95%/set 5%": a narrower table cell. */
const tight = (s: string): string => s.replace(/ \/ /g, '/');
const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** The first of 1, 1.5, 2, 2.5, 3, 4, 5, 6, 8 × 10^k at or above v (an axis maximum). */
function niceCeil(v: number): number {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

const W = 860;
const H = 380;
const M = { l: 70, r: 40, t: 20, b: 50 };
const PW = W - M.l - M.r;
const PH = H - M.t - M.b;

function axes(xTicks: Array<[number, string]>, yMax: number, xLabel: string, yLabel: string): string {
  const parts: string[] = [];
  for (let i = 0; i <= 5; i++) {
    const y = M.t + PH - (PH * i) / 5;
    const v = (yMax * i) / 5;
    parts.push(`<line x1="${M.l}" y1="${y}" x2="${M.l + PW}" y2="${y}" stroke="#e3e3e3"/>`);
    parts.push(`<text x="${M.l - 8}" y="${y + 4}" text-anchor="end">${Number(v.toPrecision(4))}</text>`);
  }
  for (const [x, label] of xTicks) {
    parts.push(`<line x1="${x}" y1="${M.t}" x2="${x}" y2="${M.t + PH}" stroke="#f0f0f0"/>`);
    parts.push(`<text x="${x}" y="${M.t + PH + 18}" text-anchor="middle">${esc(label)}</text>`);
  }
  parts.push(`<rect x="${M.l}" y="${M.t}" width="${PW}" height="${PH}" fill="none" stroke="#999"/>`);
  parts.push(`<text x="${M.l + PW / 2}" y="${H - 8}" text-anchor="middle" class="axis">${esc(xLabel)}</text>`);
  parts.push(`<text x="16" y="${M.t + PH / 2}" text-anchor="middle" class="axis" transform="rotate(-90 16 ${M.t + PH / 2})">${esc(yLabel)}</text>`);
  return parts.join('');
}

function legend(scenarios: readonly ScenarioResult[]): string {
  return scenarios.map((s, i) => {
    const y = M.t + 14 + i * 18;
    return `<g class="legend"><rect x="${M.l + 12}" y="${y - 9}" width="14" height="4" fill="${COLORS[i % COLORS.length]}"/><text x="${M.l + 32}" y="${y - 3}">${esc(s.name)}</text></g>`;
  }).join('');
}

/** x = log10(1 / (1 - p)): 90% at 1, 99% at 2, … 99.999% at 5. */
function latencyChart(scenarios: readonly ScenarioResult[]): string {
  const XMAX = 5;
  const xOf = (p: number): number => M.l + (PW * Math.min(XMAX, p >= 100 ? XMAX : Math.log10(1 / (1 - p / 100)))) / XMAX;
  const yMax = niceCeil(Math.max(0.001, ...scenarios.flatMap((s) => s.distribution.map((d) => d.ms))));
  const yOf = (ms: number): number => M.t + PH - (PH * ms) / yMax;
  const ticks: Array<[number, string]> = ['0%', '90%', '99%', '99.9%', '99.99%', '99.999%'].map((l, i) => [M.l + (PW * i) / XMAX, l]);
  const lines = scenarios.map((s, i) => {
    const pts = s.distribution.filter((d) => d.percentile < 100).map((d) => `${xOf(d.percentile).toFixed(1)},${yOf(d.ms).toFixed(1)}`).join(' ');
    return `<polyline class="series" data-scenario="${esc(s.name)}" points="${pts}" fill="none" stroke="${COLORS[i % COLORS.length]}" stroke-width="2"/>`;
  });
  return `<svg id="latency-chart" xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="Latency by percentile">` +
    axes(ticks, yMax, 'percentile', 'latency (ms)') + lines.join('') + legend(scenarios) + '</svg>';
}

function throughputChart(scenarios: readonly ScenarioResult[]): string {
  const tMax = Math.max(1, ...scenarios.map((s) => s.timeline.length));
  const yMax = niceCeil(Math.max(1, ...scenarios.flatMap((s) => s.timeline.map((p) => p.ops))));
  const xOf = (t: number): number => M.l + (PW * t) / tMax;
  const yOf = (v: number): number => M.t + PH - (PH * v) / yMax;
  const step = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600].find((s) => tMax / s <= 12) ?? Math.ceil(tMax / 10);
  const ticks: Array<[number, string]> = [];
  for (let t = 0; t <= tMax; t += step) ticks.push([xOf(t), `${t}s`]);
  const lines = scenarios.map((s, i) => {
    const pts = s.timeline.map((p) => `${xOf(p.t + 0.5).toFixed(1)},${yOf(p.ops).toFixed(1)}`).join(' ');
    return `<polyline class="series" data-scenario="${esc(s.name)}" points="${pts}" fill="none" stroke="${COLORS[i % COLORS.length]}" stroke-width="2"/>`;
  });
  return `<svg id="throughput-chart" xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="Throughput over time">` +
    axes(ticks, yMax, 'seconds into the scenario', 'requests / second') + lines.join('') + legend(scenarios) + '</svg>';
}

export function toHtml(r: SuiteReport): string {
  const rows = r.scenarios.map((s, i) => `<tr><td><span class="dot" style="background:${COLORS[i % COLORS.length]}"></span>${esc(s.name)}${s.interrupted ? ' <em>(interrupted)</em>' : ''}</td>` +
    `<td>${esc(tight(s.mixLabel))}</td><td>${s.concurrency}</td><td>${s.durationS}</td><td>${s.requests}</td><td>${s.errors}</td><td><b>${s.throughput}</b></td>` +
    `<td>${s.latency.p50Ms}</td><td>${s.latency.p90Ms}</td><td>${s.latency.p99Ms}</td><td>${s.latency.p999Ms}</td><td>${s.latency.maxMs}</td><td>${s.client.cpuPercent}%</td></tr>`).join('\n');
  const m = r.machine;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>kvb suite — ${esc(r.target.url)} — ${esc(r.startedAt)}</title>
<style>
body { font: 14px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 24px; color: #222; max-width: 1000px; }
h1 { font-size: 20px; margin: 0 0 4px; } h2 { font-size: 16px; margin: 28px 0 8px; }
.meta { color: #555; } table { border-collapse: collapse; margin-top: 8px; } th, td { border-bottom: 1px solid #ddd; padding: 4px 8px; text-align: right; }
th:first-child, td:first-child, th:nth-child(2), td:nth-child(2) { text-align: left; } th { background: #f6f6f6; } td { white-space: nowrap; }
.dot { display: inline-block; width: 10px; height: 10px; border-radius: 5px; margin-right: 6px; }
svg text { font: 12px system-ui, sans-serif; fill: #333; } svg .axis { font-size: 13px; fill: #111; }
.warn { color: #a60; }
</style></head>
<body>
<h1>kvb suite: ${esc(r.target.url)}</h1>
<div class="meta">${esc(r.startedAt)} → ${esc(r.finishedAt)}${r.interrupted ? ' · <span class="warn">interrupted (Ctrl-C): partial results</span>' : ''}<br>
server engine ${esc(r.target.engine ?? 'unknown')}, auth ${r.target.auth ? 'on' : 'off'} · concurrency ${r.params.concurrency} over ${r.params.connections} keep-alive connections ·
${r.params.durationS} s per scenario after ${r.params.warmupS} s warm-up · ${r.params.keys} keys of ${r.params.valueSize} B<br>
machine: ${m.cpus} × ${esc(m.cpuModel)}, ${m.memoryGiB} GiB, ${esc(m.platform)}, Node ${esc(m.node)} (client and server share it)</div>
<h2>Results <small class="meta">(latencies in ms)</small></h2>
<table id="results"><thead><tr><th>scenario</th><th>mix</th><th>conc.</th><th>s</th><th>requests</th><th>errors</th><th>req/s</th><th>p50</th><th>p90</th><th>p99</th><th>p99.9</th><th>max</th><th>kvb CPU</th></tr></thead>
<tbody>
${rows}
</tbody></table>
<h2>Latency distribution</h2>
${latencyChart(r.scenarios)}
<h2>Throughput over time</h2>
${throughputChart(r.scenarios)}
<p class="meta">Latency is per request, from send to the whole response, HDR histogram (3 significant digits). kvb CPU is the benchmark client's own CPU time over wall time (100% = one core): near 100% the client, not the server, may be the limit.</p>
<script>
// Self-check for automated viewers: record the laid-out size of each chart and its series count.
document.addEventListener('DOMContentLoaded', function () {
  var out = [];
  document.querySelectorAll('svg').forEach(function (svg) {
    var b = svg.getBoundingClientRect();
    out.push(svg.id + ':' + Math.round(b.width) + 'x' + Math.round(b.height) + ':' + svg.querySelectorAll('polyline.series').length);
  });
  document.body.setAttribute('data-rendered', out.join(' '));
});
</script>
</body></html>
`;
}

/** Writes <prefix>.json, .csv and .html; returns their paths. */
export function writeReports(prefix: string, report: SuiteReport): string[] {
  const dir = path.dirname(path.resolve(prefix));
  fs.mkdirSync(dir, { recursive: true });
  const files = [`${prefix}.json`, `${prefix}.csv`, `${prefix}.html`];
  fs.writeFileSync(files[0]!, JSON.stringify(report, null, 2) + '\n');
  fs.writeFileSync(files[1]!, toCsv(report.scenarios));
  fs.writeFileSync(files[2]!, toHtml(report));
  return files;
}
