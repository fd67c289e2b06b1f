/**
 * The README's replication walkthrough, run as written (bash) with kvstored and kvctl on the
 * PATH as a package install puts them, against real processes: a primary, a standby
 * kvstored and the embedded replica of examples/replica.ts; then the failover, the promotion
 * and the old primary's rewind. Only the ports change (to free ones). Docs that do not match
 * the code fail here.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { closedPort } from './cli-proc.js';
import { tempDir } from './helpers.js';
import { readmeBlock, runWalkthrough } from './readme-walkthrough.js';

const test = suite('README replication');

test('the three-process replication walkthrough works as written: standby, embedded replica, failover, promote, rewind', async () => {
  const block = readmeBlock('Replication');
  const [a, b] = [await closedPort(), await closedPort()];
  const script = block.replaceAll('8080', String(a)).replaceAll('8081', String(b));
  const { code, out, err, shown } = await runWalkthrough(script, { env: { TMPDIR: tempDir('readme-repl') }, timeoutMs: 150_000 });
  assert.is(code, 0, `the walkthrough failed${shown}`);
  assert.ok(out.includes('hello, replicas'), `the standby serves the write${shown}`);
  assert.match(out, /replica: greeting = hello, replicas/);
  assert.match(out, /^b\s+127\.0\.0\.1\s+\d+\s+\d+\s+\d+\s+\d+\s/m, 'cluster status lists the standby');
  assert.match(out, /^example-replica\s+127\.0\.0\.1\s/m, 'cluster status lists the embedded replica');
  assert.match(out, /^hello via the standby$/m, 'a write on the standby is forwarded, and a linearizable read there sees it');
  assert.match(out, /^promoted http:\/\/127\.0\.0\.1:\d+ to primary: timeline 00000002[0-9a-f]{8} \(generation 2, from 00000001[0-9a-f]{8}\) at LSN \d+$/m);
  assert.match(out, /replication: rewound to LSN \d+ to follow timeline 00000002[0-9a-f]{8}: discarded 1 record\(s\)/);
  assert.ok(out.includes('written on the new primary'), 'the old primary has the new primary\'s write');
  assert.match(err, /NOT_FOUND: no such key: last-word/, 'the rewind took the record the new primary never had');
  assert.match(out, /replica: after = written on the new primary/);
  assert.match(out, /^timeline:\s+00000002[0-9a-f]{8} \(generation 2\)$/m);
  assert.match(out, /^a\s+127\.0\.0\.1\s/m, 'the old primary streams from the new one');
});

test.run();
