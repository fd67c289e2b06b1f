/**
 * Secrets never travel in process arguments (anyone can read /proc/<pid>/cmdline): passwords
 * are typed at a prompt without echo on a terminal, or read from standard input; API keys
 * come from the environment or a file.
 */
import fs from 'node:fs';
import { CliError, EXIT, usage } from './common.js';

/** All of standard input as text, without one trailing newline. */
export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

/** All of standard input as bytes (values for `kvctl put`). */
export async function readStdinBytes(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/**
 * Reads one line from the terminal without echoing it. The prompt goes to stderr so that
 * stdout stays clean for the command's output. Ctrl-C aborts the command (exit 130).
 */
export function promptHidden(prompt: string): Promise<string> {
  const input = process.stdin;
  return new Promise((resolve, reject) => {
    process.stderr.write(prompt);
    let line = '';
    const wasRaw = input.isRaw;
    input.setRawMode(true);
    input.setEncoding('utf8');
    input.resume();
    const done = (err: Error | null): void => {
      input.setRawMode(wasRaw);
      input.pause();
      input.removeListener('data', onData);
      process.stderr.write('\n');
      if (err) reject(err);
      else resolve(line);
    };
    const onData = (chunk: string): void => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') return done(null);
        if (ch === '\u0003') return done(new CliError('INTERRUPTED', 'interrupted', EXIT.INTERRUPTED));
        if (ch === '\u007f' || ch === '\b') line = line.slice(0, -1);
        else if (ch === '\u0015') line = ''; // Ctrl-U
        else if (ch >= ' ') line += ch;
      }
    };
    input.on('data', onData);
  });
}

export interface PasswordSource {
  /** --password-stdin: read standard input even on a terminal. */
  stdin?: boolean;
  /** Ask twice on a terminal (setting a password, not logging in). */
  confirm?: boolean;
  prompt?: string;
}

/** A password from the terminal (no echo) or, when stdin is not a terminal or --password-stdin, from stdin. */
export async function readPassword(src: PasswordSource = {}): Promise<string> {
  let pw: string;
  if (src.stdin || !process.stdin.isTTY) {
    pw = await readStdin();
  } else {
    pw = await promptHidden(src.prompt ?? 'Password: ');
    if (src.confirm) {
      const again = await promptHidden('Repeat password: ');
      if (again !== pw) throw new CliError('PASSWORD_MISMATCH', 'the two passwords differ; nothing was changed', 1);
    }
  }
  if (pw.length === 0) throw usage('the password is empty');
  return pw;
}

/** An API key from a file (`-` = stdin), trimmed. */
export async function readKeyFile(file: string): Promise<string> {
  let text: string;
  try {
    text = file === '-' ? await readStdin() : fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw usage(`cannot read the API key file ${file}: ${(err as Error).message}`);
  }
  const key = text.trim();
  if (!key) throw usage(`the API key file ${file} is empty`);
  return key;
}
