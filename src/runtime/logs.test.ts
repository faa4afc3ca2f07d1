import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseLog, readLog, rotateLog } from './logs.js';

const line = (stream: string, tag: string, text: string) =>
  `2026-01-01T00:00:00.000000000+00:00 ${stream} ${tag} ${text}\n`;

test('k8s-file records: partial lines are joined, streams kept apart', () => {
  const text =
    line('stdout', 'P', 'hel') +
    line('stdout', 'F', 'lo') +
    line('stderr', 'F', 'oops') +
    line('stdout', 'F', '');
  assert.deepEqual(
    parseLog(text).map((l) => [l.stream, l.text]),
    [
      ['stdout', 'hello\n'],
      ['stderr', 'oops\n'],
      ['stdout', '\n'],
    ],
  );
});

test('rotation keeps older files, and reading starts from the oldest', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-logs-'));
  try {
    const file = path.join(dir, 'ctr.log');
    fs.writeFileSync(file, line('stdout', 'F', 'one'));
    assert.equal(rotateLog(dir, file, 1000), false, 'small logs stay');
    assert.equal(rotateLog(dir, file, 10), true);
    fs.writeFileSync(file, line('stdout', 'F', 'two'));
    assert.equal(rotateLog(dir, file, 10), true);
    fs.writeFileSync(file, line('stdout', 'F', 'three'));
    const all: string[] = [];
    for await (const l of readLog(file)) all.push(l.text.trim());
    assert.deepEqual(all, ['one', 'two', 'three']);
    const tail: string[] = [];
    for await (const l of readLog(file, { tail: 1 })) tail.push(l.text.trim());
    assert.deepEqual(tail, ['three']);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
