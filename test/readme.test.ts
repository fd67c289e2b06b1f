/**
 * The README's server walkthrough, run as written (bash + curl) against a real kvstored:
 * docs that do not match the code fail here.
 */
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { repoRoot, tempDir } from './helpers.js';

const test = suite('README');

test('the kvstored curl walkthrough works as written', async () => {
  const readme = fs.readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## The server: kvstored'));
  const block = /```sh\n([\s\S]*?)```/.exec(section)![1]!;
  const password = /KVSTORE_ADMIN_PASSWORD='([^']+)'/.exec(block)![1]!;
  const child = spawn(process.execPath, [path.join(repoRoot, 'dist', 'ts', 'server', 'main.js'), '--data-dir', tempDir('readme'), '--port', '0'], {
    env: { ...process.env, KVSTORE_ADMIN_PASSWORD: password }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => {
        out += d;
        const m = /"url":"([^"]+)"/.exec(out);
        if (m) resolve(m[1]!);
      });
      child.on('exit', (code) => reject(new Error(`kvstored exited ${code}`)));
    });
    // The walkthrough minus its `npm start &` line (the server above stands in for it), with
    // each command's output marked so it can be checked.
    const lines = block.split('\n').filter((l) => !l.includes('npm start'));
    const script = lines.map((l) => l.replace(/^URL=.*$/, `URL=${url}`)).join('\n').replace(/\\\n/g, '')
      .split('\n').map((l, i) => (l.startsWith('curl') ? `echo; echo "@@${i}"; ${l}` : l)).join('\n');
    const out = execFileSync('bash', ['-euo', 'pipefail', '-c', script], { encoding: 'utf8', cwd: repoRoot });
    assert.match(out, /"name":"app"/);
    assert.match(out, /\{"version":"\d+"\}/);
    assert.match(out, /^ada$/m);
    assert.match(out, /"code":"VERSION_MISMATCH"/);
    assert.match(out, /\{"value":"1"\}/);
    assert.match(out, /\{"items":\[\{"key":"user:1","value":"YWRh"\}\]\}/);
    assert.match(out, /^kvstore_keys \d+/m);
  } finally {
    child.kill('SIGTERM');
  }
});

test.run();
