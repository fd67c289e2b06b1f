/**
 * The README's backup walkthrough, run as written (bash) with kvstored and kvctl on the PATH
 * as a package install puts them, against real processes: archiving, an online base backup,
 * a mistake, the lost data directory, restores to the moment before the mistake and to the
 * latest point, a refused restore, and kvstored serving the restored directory. Only the
 * port changes (to a free one). Docs that do not match the code fail here.
 */
import fs from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { closedPort } from './cli-proc.js';
import { tempDir } from './helpers.js';
import { readmeBlock, runWalkthrough } from './readme-walkthrough.js';
import { startS3 } from './s3-server.js';

const test = suite('README backups');

test('the backup walkthrough works as written: archive, backup, mistake, lost disk, restore to a time and to the latest point', async () => {
  const block = readmeBlock('Backups');
  const port = await closedPort();
  const script = block.replaceAll('8080', String(port));
  const { code, out, err, shown } = await runWalkthrough(script, { env: { TMPDIR: tempDir('readme-bk') }, timeoutMs: 120_000 });
  assert.is(code, 0, `the walkthrough failed${shown}`);
  assert.match(out, /backup \d{8}T\d{9}Z-[0-9a-f]{6} written to .* consistent at LSN \d+, \d file\(s\)/, `backup create reports the backup${shown}`);
  assert.match(out, /archived WAL: LSN 1\.\.\d+/, `backup list shows the archive${shown}`);
  assert.match(out, /^ok {2}\d{8}T/m, `verify passes${shown}`);
  assert.match(out, /^ok {2}archive: /m);
  assert.is(out.match(/v2/g)?.length, 2, `the restore before the mistake has v2, and so does the server on it${shown}`);
  assert.match(err, /NOT_FOUND/, 'the latest point has the delete');
  assert.match(err, /RESTORE_TARGET_NOT_EMPTY/, 'a second restore into the same directory is refused');
});

test('the S3 walkthrough works as written: archive and back up to a bucket, lose the disk, restore from the bucket', async () => {
  const s3 = await startS3('kv-backups');
  try {
    const block = readmeBlock('Backups to S3', 3);
    assert.match(block, 'http://127.0.0.1:9000');
    const port = await closedPort();
    const script = block.replaceAll('8080', String(port)).replaceAll('http://127.0.0.1:9000', s3.endpoint);
    const tmp = tempDir('readme-bk-s3');
    const { code, out, err, shown } = await runWalkthrough(script, { env: { TMPDIR: tmp }, timeoutMs: 120_000 });
    assert.is(code, 0, `the walkthrough failed${shown}`);
    assert.match(out, /backup \d{8}T\d{9}Z-[0-9a-f]{6} written to s3:\/\/kv-backups\/prod/, `backup create reports the S3 backup${shown}`);
    assert.match(out, /^ok {2}\d{8}T/m, `verify passes${shown}`);
    assert.match(out, /^v2$/m, `the restored directory has the last write${shown}`);
    // The secret key is in the environment of every process here, and in no output or log.
    const logs = fs.readdirSync(tmp, { recursive: true, withFileTypes: true }).filter((e) => e.isFile() && e.name.endsWith('.log'));
    assert.ok(logs.length > 0, 'the server log was found');
    for (const text of [out, err, ...logs.map((e) => fs.readFileSync(path.join(e.parentPath ?? e.path, e.name), 'utf8'))]) assert.not.match(text, 'S3RVER');
  } finally {
    await s3.close();
  }
});

test.run();
