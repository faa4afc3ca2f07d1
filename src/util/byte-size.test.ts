import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatByteSize, parseByteSize } from './byte-size.js';
import { InvalidArgument } from './errors.js';

test('sizes as Docker flags write them, all in powers of 1024', () => {
  const table: [string, number][] = [
    ['1048576', 2 ** 20],
    ['512m', 512 * 2 ** 20],
    ['64GiB', 64 * 2 ** 30],
    ['64gb', 64 * 2 ** 30],
    ['1.5k', 1536],
    ['2 T', 2 * 2 ** 40],
    ['100b', 100],
  ];
  for (const [text, bytes] of table) assert.equal(parseByteSize(text, '--x'), bytes, text);
});

test('anything else is refused naming the flag', () => {
  for (const bad of ['', '0', '-1', '1x', 'GiB', '1e9', 'lots', `${2 ** 60}p`]) {
    assert.throws(
      () => parseByteSize(bad, '--max-layer-size'),
      (err: unknown) =>
        err instanceof InvalidArgument && err.message.startsWith(`--max-layer-size \`${bad}\`: not a size`),
      bad,
    );
  }
});

test('formatted exactly when they can be', () => {
  assert.equal(formatByteSize(4 * 2 ** 20), '4 MiB');
  assert.equal(formatByteSize(64 * 2 ** 30), '64 GiB');
  assert.equal(formatByteSize(1536), '1.5 KiB');
  assert.equal(formatByteSize(100), '100 B');
});
