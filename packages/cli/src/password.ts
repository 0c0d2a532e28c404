import { execSync } from 'node:child_process';
import { openSync, readSync, closeSync, writeSync } from 'node:fs';
import { KeystoreError } from '@mofn/core';

/**
 * Gets the keystore password: `MOFN_PASSWORD` for scripts, else a hidden prompt on the terminal
 * (the terminal, not stdin, because stdin may carry a mnemonic or a PSBT).
 * @throws KeystoreError `keystore.no_password` when neither is available, `keystore.password_mismatch` on a failed confirmation.
 */
export function getPassword(options: { confirm?: boolean; prompt?: string } = {}): string {
  const fromEnv = process.env['MOFN_PASSWORD'];
  if (fromEnv !== undefined) return fromEnv;
  const first = promptHidden(options.prompt ?? 'Keystore password: ');
  if (options.confirm) {
    const second = promptHidden('Repeat password: ');
    if (first !== second) throw new KeystoreError('keystore.password_mismatch', 'the two passwords differ');
  }
  return first;
}

function promptHidden(prompt: string): string {
  let fd: number;
  try {
    fd = openSync('/dev/tty', 'r+');
  } catch (cause) {
    throw new KeystoreError('keystore.no_password', 'no terminal to ask the keystore password on', {
      hint: 'set MOFN_PASSWORD for non-interactive use',
      cause,
    });
  }
  try {
    writeSync(fd, prompt);
    // Turn echo off for the duration of the read; restore even on error.
    execSync('stty -echo < /dev/tty');
    try {
      const buf = Buffer.alloc(1024);
      let text = '';
      for (;;) {
        const n = readSync(fd, buf, 0, buf.length, null);
        if (n <= 0) break;
        text += buf.subarray(0, n).toString('utf8');
        if (text.includes('\n')) break;
      }
      buf.fill(0);
      return text.replace(/\r?\n.*$/s, '');
    } finally {
      execSync('stty echo < /dev/tty');
      writeSync(fd, '\n');
    }
  } finally {
    closeSync(fd);
  }
}
