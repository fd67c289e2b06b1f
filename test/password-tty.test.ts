/**
 * The no-echo password prompt through a real pseudo-terminal: kvctl runs under util-linux
 * `script`, which gives it a pty and copies everything the terminal shows to our stdout.
 * The password typed at the prompt must not appear in that output (it would, had the prompt
 * left echo on: the control case reads the same password from the terminal with
 * --password-stdin, where the tty's echo shows it, proving the capture sees echoed input).
 */
import { spawn, spawnSync } from 'node:child_process';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { KVCTL } from './cli-proc.js';
import { type Harness, login, startHarness, ADMIN_PW } from './http-harness.js';
import { tempDir } from './helpers.js';

const HAVE_SCRIPT = spawnSync('script', ['--version'], { encoding: 'utf8' }).status === 0;

interface Typed {
  /** Wait for this text on the terminal, then type `text`. */
  after: string;
  text: string;
}

/** Runs kvctl under `script` (a pty), typing each answer after its prompt shows; resolves with the exit code and everything the terminal showed. */
function onTerminal(args: string[], answers: Typed[], env: Record<string, string>): Promise<{ code: number | null; screen: string }> {
  const quoted = [process.execPath, KVCTL, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qefc', quoted, '/dev/null'], { env: { ...process.env, ...env, TERM: 'dumb' }, stdio: ['pipe', 'pipe', 'pipe'] });
    let screen = '';
    let next = 0;
    let seen = 0;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`kvctl under script did not finish; screen so far: ${JSON.stringify(screen)}`));
    }, 30_000);
    const feed = (): void => {
      while (next < answers.length) {
        const i = screen.indexOf(answers[next]!.after, seen);
        if (i < 0) return;
        seen = i + answers[next]!.after.length;
        child.stdin.write(answers[next]!.text);
        next++;
      }
    };
    child.stdout.on('data', (d: Buffer) => {
      screen += d.toString('utf8');
      feed();
    });
    child.stderr.on('data', (d: Buffer) => (screen += d.toString('utf8')));
    child.on('error', reject);
    feed(); // an answer expected before any output (after: '')
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, screen });
    });
  });
}

const test = suite('password prompt on a pty');
let h: Harness;
let env: Record<string, string>;
test.before(async () => {
  h = await startHarness({ loginRateLimit: 0 });
  env = { KVCTL_CONFIG_DIR: tempDir('kvctlcfg'), KVCTL_URL: h.url };
});
test.after(async () => {
  await h?.close();
});

test('script from util-linux is installed (bsdutils, an Essential Debian package)', () => {
  assert.ok(HAVE_SCRIPT, 'script(1) is missing: apt-get install bsdutils');
});

test('kvctl login: the password typed at the prompt never shows on the terminal', async () => {
  const r = await onTerminal(['login', 'admin'], [{ after: 'Password for admin@', text: `${ADMIN_PW}\r` }], env);
  assert.is(r.code, 0, r.screen);
  assert.match(r.screen, 'Password for admin@');
  assert.match(r.screen, 'logged in to');
  assert.not.match(r.screen, ADMIN_PW, `the password was echoed: ${JSON.stringify(r.screen)}`);
  assert.not.match(r.screen, 'admin password', 'not even a part of it');
});

test('kvctl user create --password: both prompts hide it, and the user can log in with it', async () => {
  const pw = 'bob secret horse 9';
  const r = await onTerminal(['user', 'create', 'bob', '--password', '--role', 'reader'], [
    { after: 'Password for new user bob', text: `${pw}\r` },
    { after: 'Repeat password', text: `${pw}\r` },
  ], env);
  assert.is(r.code, 0, r.screen);
  assert.not.match(r.screen, pw, `the password was echoed: ${JSON.stringify(r.screen)}`);
  assert.not.match(r.screen, 'horse');
  assert.ok((await login(h.url, 'bob', pw)).length > 20);
});

test('control: a password read from the terminal with echo on (--password-stdin) does show — the capture would catch an echo', async () => {
  const r = await onTerminal(['login', 'admin', '--password-stdin'], [{ after: '', text: `${ADMIN_PW}\n\u0004` }], env);
  assert.is(r.code, 0, r.screen);
  assert.match(r.screen, ADMIN_PW);
});

test.run();
