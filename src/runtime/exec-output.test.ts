import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough, Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { ExecOutput } from './exec-output.js';

function sink(delayMs = 0): { stream: Writable; text: () => string; ended: () => boolean } {
  const chunks: Buffer[] = [];
  let ended = false;
  const stream = new Writable({
    highWaterMark: 4,
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk);
      setTimeout(callback, delayMs);
    },
    final(callback) {
      ended = true;
      callback();
    },
  });
  return { stream, text: () => Buffer.concat(chunks).toString(), ended: () => ended };
}

test('two sources share one stream, which ends after the last of them', async () => {
  const output = new ExecOutput(1000);
  const a = new PassThrough();
  const b = new PassThrough();
  const dest = sink();
  output.add(a, dest.stream);
  output.add(b, dest.stream);
  a.end('from a\n');
  await sleep(10);
  assert.equal(dest.ended(), false);
  b.end('from b\n');
  await output.finish();
  assert.equal(dest.text(), 'from a\nfrom b\n');
  assert.equal(dest.ended(), true);
});

test('a source held open after the exit is cut once it has been silent for the grace period', async () => {
  const output = new ExecOutput(50);
  const held = new PassThrough();
  const dest = sink();
  output.add(held, dest.stream);
  held.write('last words\n');
  const started = Date.now();
  await output.finish();
  assert.ok(Date.now() - started >= 50);
  assert.equal(dest.text(), 'last words\n');
  assert.equal(held.destroyed, true);
});

test('a source held back by a slow reader is not cut: all of its output arrives', async () => {
  const output = new ExecOutput(20);
  const source = new PassThrough();
  const dest = sink(5);
  output.add(source, dest.stream);
  const lines = Array.from({ length: 100 }, (_, i) => `line ${i}\n`);
  for (const line of lines) source.write(line);
  source.end();
  await output.finish();
  assert.equal(dest.text(), lines.join(''));
});

test('a source with nowhere to go is drained', async () => {
  const output = new ExecOutput(1000);
  const source = new PassThrough();
  output.add(source, undefined);
  source.end(Buffer.alloc(1 << 20));
  await output.finish();
  assert.equal(source.readableEnded, true);
});
