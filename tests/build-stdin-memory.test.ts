/**
 * `skiff build -` reads a tar context from stdin as it arrives, through skiff's own extractor:
 * a 1 GiB context goes through a process whose resident memory stays under 200 MB (the
 * stream is never held whole), and the context directory is gone afterwards.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { once } from 'node:events';
import { test } from 'node:test';
import { encodeHeader, paddingFor, type TarEntry } from '../src/archive/tar-header.js';
import { SKIFF_BIN, busyboxTar, sandbox } from './helpers.js';
import { needs } from '../src/util/test-requirements.js';

const GIB = 1 << 30;
const LIMIT = 200 * 1024 * 1024;

function entry(name: string, size: number): TarEntry {
  return { name, type: 'file', mode: 0o644, uid: 0, gid: 0, size, mtime: 1_700_000_000 };
}

/** A tar of a Dockerfile and a 1 GiB file, made as it is read: never in memory whole. */
async function* contextTar(dockerfile: string): AsyncGenerator<Buffer> {
  const text = Buffer.from(dockerfile);
  yield Buffer.concat([encodeHeader(entry('Dockerfile', text.length)), text, paddingFor(text.length)]);
  yield encodeHeader(entry('big.bin', GIB));
  const chunk = Buffer.alloc(1 << 20, 0x61);
  for (let sent = 0; sent < GIB; sent += chunk.length) yield chunk;
  yield Buffer.alloc(1024);
}

/** The resident set of `pid` in bytes, or undefined once it has exited. */
function rss(pid: number): number | undefined {
  try {
    const kb = /^VmRSS:\s+(\d+) kB$/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb === undefined ? undefined : Number(kb) * 1024;
  } catch {
    return undefined;
  }
}

test(
  'build - with a 1 GiB tar context on stdin stays under 200 MB of memory',
  { skip: needs('root') },
  async (t) => {
    const s = sandbox(t, 'skiff-build-stdin-');
    await s.ok(['import', busyboxTar(), 'base:1']);
    // The big file is in the context but not copied: the test is about reading the stream.
    const child = spawn(
      process.execPath,
      ['--', SKIFF_BIN, '--root', s.root, 'build', '-q', '-t', 'big:1', '-'],
      {
        stdio: ['pipe', 'pipe', 'pipe'],
      },
    );
    let peak = 0;
    const sampler = setInterval(() => (peak = Math.max(peak, rss(child.pid!) ?? 0)), 20);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    const exited = once(child, 'close');
    for await (const chunk of contextTar('FROM base:1\nRUN echo streamed > /s\n')) {
      peak = Math.max(peak, rss(child.pid!) ?? 0);
      if (!child.stdin.write(chunk)) await once(child.stdin, 'drain');
    }
    child.stdin.end();
    const [code] = (await exited) as [number | null];
    clearInterval(sampler);
    assert.equal(code, 0, Buffer.concat(err).toString('utf8'));
    assert.match(Buffer.concat(out).toString('utf8'), /^sha256:[0-9a-f]{64}\n$/);
    assert.ok(peak > 0, 'the process was sampled');
    t.diagnostic(`peak resident memory ${(peak / 2 ** 20).toFixed(0)} MiB`);
    assert.ok(peak < LIMIT, `peak resident memory ${(peak / 2 ** 20).toFixed(0)} MiB is over 200 MiB`);
    assert.equal((await s.ok(['run', '--rm', 'big:1', 'cat', '/s'])).stdout, 'streamed\n');
    assert.deepEqual(fs.readdirSync(path.join(s.root, 'tmp')), [], 'the context directory was removed');
  },
);
