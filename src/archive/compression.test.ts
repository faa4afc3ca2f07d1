import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { DataLoss, FailedPrecondition, InvalidArgument } from '../util/errors.js';
import { compressGzip, compressZstd, decompress, detectCompression } from './compression.js';

const exec = promisify(execFile);

const random = randomBytes(3 * 1024 * 1024 + 777);
const words = ['layer', 'image', 'manifest', 'digest', 'registry', 'overlay', 'snapshot', 'config', 'tar'];
const text = Buffer.from(
  Array.from(
    { length: 120_000 },
    (_, i) => `${i} ${words[i % 9]} ${words[(i * 7) % 9]} ${words[(i * 5) % 9]}\n`,
  ).join(''),
);
const mixed = Buffer.concat([
  text.subarray(0, 1_000_000),
  random.subarray(0, 1_000_000),
  text.subarray(1_000_000),
]);

async function* chunks(data: Buffer, size = 65536): AsyncGenerator<Buffer> {
  for (let i = 0; i < data.length; i += size) yield data.subarray(i, i + size);
}

async function collect(source: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of source) parts.push(part);
  return Buffer.concat(parts);
}

/** Runs a tool with `input` on stdin and returns its stdout. */
function pipeThrough(command: string, args: string[], input: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'inherit'] });
    const out: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve(Buffer.concat(out)) : reject(new Error(`${command}: ${code}`)),
    );
    child.stdin.end(input);
  });
}

async function zstdChildren(): Promise<string[]> {
  const { stdout } = await exec('ps', ['-o', 'pid=,stat=,comm=', '--ppid', String(process.pid)]);
  return stdout.split('\n').filter((line) => line.includes('zstd'));
}

describe('detectCompression', () => {
  test('reads magic bytes', () => {
    assert.equal(detectCompression(gzipSync(Buffer.from('x'))), 'gzip');
    assert.equal(detectCompression(Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x04])), 'zstd');
    assert.equal(detectCompression(Buffer.from('ustar')), 'none');
    assert.equal(detectCompression(Buffer.from([0x1f])), 'none');
    assert.equal(detectCompression(Buffer.alloc(0)), 'none');
  });
});

describe('compressGzip', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'skiff-compression-'));
  });
  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  for (const [name, data] of [
    ['random', random],
    ['text', text],
    ['mixed', mixed],
  ] as const) {
    test(`${name}: multi-member output passes gzip -t and round-trips through gzip -dc and decompress`, async () => {
      const gz = await collect(
        compressGzip(chunks(data, 100_000), { memberSize: 256 * 1024, concurrency: 3 }),
      );
      const file = join(dir, `${name}.gz`);
      await writeFile(file, gz);
      await exec('gzip', ['-t', file]);
      assert.ok((await pipeThrough('gzip', ['-dc'], gz)).equals(data));
      assert.ok((await collect(decompress(chunks(gz, 4096), 'gzip'))).equals(data));
      if (name === 'random')
        assert.ok(gz.length < data.length * 1.001, 'random data is stored, not deflated');
      if (name === 'text') assert.ok(gz.length < data.length * 0.4, 'text is deflated');
    });
  }

  test('output is deterministic for any input chunking', async () => {
    const a = await collect(compressGzip(chunks(mixed, 1000), { memberSize: 300_000 }));
    const b = await collect(compressGzip(chunks(mixed, 1 << 20), { memberSize: 300_000, concurrency: 1 }));
    assert.ok(a.equals(b));
  });

  test('default options and levels 0 and 6', async () => {
    for (const level of [undefined, 0, 6]) {
      const gz = await collect(compressGzip(chunks(text), level === undefined ? {} : { level }));
      assert.ok((await pipeThrough('gzip', ['-dc'], gz)).equals(text), `level ${level}`);
    }
  });

  test('empty input gives a valid gzip file', async () => {
    const gz = await collect(compressGzip(chunks(Buffer.alloc(0))));
    const file = join(dir, 'empty.gz');
    await writeFile(file, gz);
    await exec('gzip', ['-t', file]);
    assert.equal((await collect(decompress(chunks(gz), 'gzip'))).length, 0);
  });

  test('rejects bad options', async () => {
    await assert.rejects(collect(compressGzip(chunks(text), { level: 10 })), InvalidArgument);
    await assert.rejects(collect(compressGzip(chunks(text), { memberSize: 0 })), InvalidArgument);
    await assert.rejects(collect(compressGzip(chunks(text), { concurrency: 0 })), InvalidArgument);
  });

  test('an aborted signal stops compression', async () => {
    const controller = new AbortController();
    controller.abort();
    await assert.rejects(collect(compressGzip(chunks(text), { signal: controller.signal })), /abort/i);
  });
});

describe('decompress', () => {
  test('reads what GNU gzip writes, multi-member included', async () => {
    const one = await pipeThrough('gzip', ['-6', '-c'], text);
    const two = Buffer.concat([one, await pipeThrough('gzip', ['-1', '-c'], random)]);
    assert.ok((await collect(decompress(chunks(two, 1000), 'gzip'))).equals(Buffer.concat([text, random])));
  });

  test('none passes bytes through', async () => {
    assert.ok((await collect(decompress(chunks(text), 'none'))).equals(text));
  });

  test('corrupt and truncated gzip throw DataLoss', async () => {
    const gz = await pipeThrough('gzip', ['-c'], text);
    const corrupt = Buffer.from(gz);
    corrupt.fill(0x55, 5000, 5100);
    const isDataLoss = (err: unknown): boolean => {
      assert.ok(err instanceof DataLoss, String(err));
      assert.match(err.message, /^decompress gzip: corrupt data: /);
      return true;
    };
    await assert.rejects(collect(decompress(chunks(corrupt), 'gzip')), isDataLoss);
    await assert.rejects(collect(decompress(chunks(gz.subarray(0, gz.length - 100)), 'gzip')), isDataLoss);
    await assert.rejects(collect(decompress(chunks(Buffer.from('not gzip at all')), 'gzip')), isDataLoss);
  });

  test('a failing source is reported as itself', async () => {
    async function* failing(): AsyncGenerator<Buffer> {
      yield (await pipeThrough('gzip', ['-c'], text)).subarray(0, 1000);
      throw new Error('network went away');
    }
    await assert.rejects(collect(decompress(failing(), 'gzip')), /network went away/);
    await assert.rejects(collect(decompress(failing(), 'zstd')), /network went away/);
  });
});

describe('zstd', () => {
  test('compressZstd output reads with zstd -dc; zstd output reads with decompress', async () => {
    const zst = await collect(compressZstd(chunks(mixed)));
    assert.equal(detectCompression(zst), 'zstd');
    assert.ok((await pipeThrough('zstd', ['-dc'], zst)).equals(mixed));
    const theirs = await pipeThrough('zstd', ['-c', '-1'], mixed);
    assert.ok((await collect(decompress(chunks(theirs, 3333), 'zstd'))).equals(mixed));
    const fast = await collect(compressZstd(chunks(text), { level: 1 }));
    assert.ok((await collect(decompress(chunks(fast), 'zstd'))).equals(text));
  });

  test('corrupt zstd throws DataLoss', async () => {
    const zst = await pipeThrough('zstd', ['-c'], text);
    const corrupt = Buffer.from(zst);
    corrupt.fill(0x55, 2000, 2100);
    await assert.rejects(collect(decompress(chunks(corrupt), 'zstd')), (err: unknown) => {
      assert.ok(err instanceof DataLoss, String(err));
      assert.match(err.message, /^decompress zstd: corrupt data: `zstd` exited with status 1: /);
      return true;
    });
  });

  test('stopping early kills the child and leaves no zombie', async () => {
    const zst = await pipeThrough('zstd', ['-c'], random);
    for await (const _ of decompress(chunks(zst), 'zstd')) {
      assert.equal((await zstdChildren()).length, 1, 'the child runs while the stream is read');
      break;
    }
    for await (const _ of compressZstd(chunks(random))) break;
    assert.deepEqual(await zstdChildren(), []);
  });

  test('an abort kills the child', async () => {
    const controller = new AbortController();
    async function* slow(): AsyncGenerator<Buffer> {
      yield random.subarray(0, 1000);
      controller.abort();
      await new Promise((resolve) => setTimeout(resolve, 60_000).unref());
    }
    await assert.rejects(collect(compressZstd(slow(), { signal: controller.signal })), /abort/i);
    assert.deepEqual(await zstdChildren(), []);
  });

  test('a missing binary says so', async () => {
    const path = process.env.PATH;
    process.env.PATH = '/nonexistent';
    try {
      await assert.rejects(collect(compressZstd(chunks(text))), (err: unknown) => {
        assert.ok(err instanceof FailedPrecondition, String(err));
        assert.equal(err.message, 'compress zstd: `zstd` not installed (apt-get install zstd)');
        return true;
      });
    } finally {
      process.env.PATH = path;
    }
  });

  test('zstd -t accepts what compressZstd wrote to a file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'skiff-zstd-'));
    try {
      const file = join(dir, 'data.zst');
      await writeFile(file, await collect(compressZstd(chunks(mixed), { level: 3 })));
      await exec('zstd', ['-t', '-q', file]);
      assert.ok((await collect(decompress(chunks(await readFile(file)), 'zstd'))).equals(mixed));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
