/**
 * The htpasswd file: a failed login costs the same time whether or not the user exists, so
 * timing does not tell which user names are in the file.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import bcrypt from 'bcryptjs';
import { Htpasswd } from './htpasswd.js';

let dir: string;
before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-htpasswd-'));
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

function writeFile(name: string, lines: string[]): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

async function timed(run: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  await run();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

test('a right password passes; a wrong one and an unknown user fail', async () => {
  const file = writeFile('basic', [`alice:${bcrypt.hashSync('s3cret', 4)}`]);
  const htpasswd = new Htpasswd(file);
  assert.equal(await htpasswd.verify('alice', 's3cret'), true);
  assert.equal(await htpasswd.verify('alice', 's3cret'), true, 'remembered');
  assert.equal(await htpasswd.verify('alice', 'nope'), false);
  assert.equal(await htpasswd.verify('mallory', 's3cret'), false);
});

test('failed logins take as long for an unknown user as for a real one (cost 10 entries)', async () => {
  // A cost well above the old fixed decoy's 5, which answered an unknown user 32 times faster.
  const file = writeFile('cost10', [
    `alice:${bcrypt.hashSync('s3cret', 10)}`,
    `bob:${bcrypt.hashSync('hunter2', 10)}`,
  ]);
  const htpasswd = new Htpasswd(file);
  const known = () => htpasswd.verify('alice', 'wrong password');
  const unknown = () => htpasswd.verify('nobody', 'wrong password');
  // Warm up (JIT, bcrypt's tables) before measuring.
  for (let i = 0; i < 3; i++) {
    assert.equal(await known(), false);
    assert.equal(await unknown(), false);
  }
  // Interleaved, so load on the machine falls on both series alike; medians drop outliers.
  const knownMs: number[] = [];
  const unknownMs: number[] = [];
  for (let i = 0; i < 15; i++) {
    knownMs.push(await timed(known));
    unknownMs.push(await timed(unknown));
  }
  const a = median(knownMs);
  const b = median(unknownMs);
  const difference = Math.abs(a - b) / Math.max(a, b);
  assert.ok(
    difference < 0.1,
    `median ${a.toFixed(1)} ms for a wrong password, ${b.toFixed(1)} ms for an unknown user`,
  );
});

test('the decoy follows the most common cost, and a rewritten file', async () => {
  const file = writeFile('mixed', [
    `a:${bcrypt.hashSync('x', 4)}`,
    `b:${bcrypt.hashSync('x', 9)}`,
    `c:${bcrypt.hashSync('x', 9)}`,
  ]);
  const htpasswd = new Htpasswd(file);
  const unknownMs = async () => {
    await htpasswd.verify('nobody', 'x');
    const times: number[] = [];
    for (let i = 0; i < 5; i++) times.push(await timed(() => htpasswd.verify('nobody', 'x')));
    return median(times);
  };
  const at9 = await unknownMs();
  // Cost 4 is 32 times cheaper than cost 9; the decoy must follow the file when it changes.
  fs.writeFileSync(file, `a:${bcrypt.hashSync('x', 4)}\n`);
  fs.utimesSync(file, new Date(), new Date(Date.now() + 5000));
  const at4 = await unknownMs();
  assert.ok(at4 * 4 < at9, `unknown user: ${at9.toFixed(1)} ms at cost 9, ${at4.toFixed(1)} ms at cost 4`);
});
