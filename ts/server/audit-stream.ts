/**
 * audit_stream = stdout | stderr: every audit record this node's catalog commits (once
 * durable) is also written as one line of JSON, `{"type":"audit","id":...,"at":...,
 * "actor":...,"action":...,"target":...,"ip":...,"ok":...,"detail":...}`, for a SIEM
 * shipper (Filebeat, Vector, Fluent Bit, journald under systemd) to pick up. The `type`
 * field tells these lines from the server's own JSON log lines on the same stream.
 *
 * An audit record holds names, addresses, actions and outcomes, never a password, a session
 * token or an API key's secret (the catalog never puts one there: test/audit-stream.test.ts
 * checks the stream of a real kvstored). A standby commits no catalog changes (they are made
 * on the primary and replicated), so its stream stays empty: stream from the primary.
 *
 * The lines go through the process's stream like its log lines do: a reader that stops
 * reading makes them queue in memory, as the logger's would.
 */
import type { AuditSink } from '../auth/service.js';
import type { ServerConfig } from './config.js';

/** The sink for AuthService.open's auditSink, or undefined with audit_stream = none. */
export function auditStreamSink(setting: ServerConfig['auditStream'], out: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream } = process): AuditSink | undefined {
  if (setting === 'none') return undefined;
  const stream = setting === 'stdout' ? out.stdout : out.stderr;
  return (entry) => void stream.write(`${JSON.stringify({ type: 'audit', ...entry })}\n`);
}
