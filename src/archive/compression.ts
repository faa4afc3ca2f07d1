/**
 * Layer compression. gzip is done in process as parallel members (RFC 1952 §2.2: a gzip
 * file is a series of members), which on the project's 2-core machine matches pigz and
 * never deflates incompressible data; zstd is delegated to Debian's `zstd` binary, since
 * Node 20 has none. Speeds behind these choices: docs/compression.md.
 */
import { spawn } from 'node:child_process';
import { Readable, addAbortSignal, pipeline } from 'node:stream';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { DataLoss, FailedPrecondition, InvalidArgument, SkiffError, errnoCode } from '../util/errors.js';
import { PROGRAMS } from '../util/programs.js';

export type Compression = 'gzip' | 'zstd' | 'none';

const KiB = 1024;
const MiB = 1024 * KiB;
const gzip = promisify(zlib.gzip);
const deflateRaw = promisify(zlib.deflateRaw);

/** Magic bytes: gzip 1f 8b (RFC 1952), zstd frame 28 b5 2f fd (RFC 8878). */
export function detectCompression(head: Buffer): Compression {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.length >= 4 && head.readUInt32BE(0) === 0x28b52ffd) return 'zstd';
  return 'none';
}

/** Decompress a stream; gzip via node:zlib createGunzip with chunkSize 1 MiB (accepts multi-member); zstd by spawning Debian's `zstd -dc` (error with a clear message if the binary is missing). Corrupt input throws DataLoss naming what failed. */
export function decompress(
  source: AsyncIterable<Buffer>,
  kind: Compression,
  options?: { signal?: AbortSignal },
): AsyncIterable<Buffer> {
  switch (kind) {
    case 'none':
      return passThrough(source, options?.signal);
    case 'gzip':
      return gunzip(source, options?.signal);
    case 'zstd':
      return filter('zstd', ['-d', '-c', '-q'], source, { verb: 'decompress zstd', signal: options?.signal });
    default:
      throw new InvalidArgument(`decompress: unknown compression ${JSON.stringify(kind)}`);
  }
}

/** What a file given to ADD may be compressed with (reference, "ADD": identity, gzip, bzip2, xz; and zstd). */
export type ArchiveCompression = Compression | 'bzip2' | 'xz';

/** Magic bytes of the archive compressions: those of `detectCompression`, bzip2 `BZh`, xz fd 37 7a 58 5a 00. */
export function detectArchiveCompression(head: Buffer): ArchiveCompression {
  if (head.length >= 3 && head.toString('latin1', 0, 3) === 'BZh') return 'bzip2';
  if (head.length >= 6 && head.subarray(0, 6).equals(XZ_MAGIC)) return 'xz';
  return detectCompression(head);
}

const XZ_MAGIC = Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]);

/** `decompress`, plus bzip2 and xz through Debian's `bzip2` and `xz` (as zstd, none in Node). */
export function decompressArchive(
  source: AsyncIterable<Buffer>,
  kind: ArchiveCompression,
  options?: { signal?: AbortSignal },
): AsyncIterable<Buffer> {
  if (kind === 'bzip2' || kind === 'xz') {
    const command = kind === 'xz' ? 'xz' : 'bzip2';
    return filter(command, ['-d', '-c', '-q'], source, {
      verb: `decompress ${kind}`,
      signal: options?.signal,
    });
  }
  return decompress(source, kind, options);
}

async function* passThrough(source: AsyncIterable<Buffer>, signal?: AbortSignal): AsyncGenerator<Buffer> {
  for await (const chunk of source) {
    signal?.throwIfAborted();
    yield chunk;
  }
}

async function* gunzip(source: AsyncIterable<Buffer>, signal?: AbortSignal): AsyncGenerator<Buffer> {
  // 1 MiB output chunks: 1.5–2.3× faster than the 16 KiB default (docs/compression.md#decompression).
  const stream = zlib.createGunzip({ chunkSize: MiB });
  if (signal) addAbortSignal(signal, stream);
  // pipeline() wires errors both ways and, if the consumer stops early, ends the source.
  pipeline(Readable.from(source, { objectMode: false }), stream, () => {});
  try {
    for await (const chunk of stream) yield chunk as Buffer;
  } catch (err) {
    if (errnoCode(err)?.startsWith('Z_')) {
      throw new DataLoss(`decompress gzip: corrupt data: ${(err as Error).message}`, { cause: err });
    }
    throw err;
  }
}

export interface GzipOptions {
  /** zlib level 0–9; default 1 (text at 142 MB/s vs 68 at level 6, for 15 % more bytes). */
  level?: number;
  /** Uncompressed bytes per gzip member; default 4 MiB. */
  memberSize?: number;
  /** Members compressed at once on the libuv threadpool; default 2. */
  concurrency?: number;
  signal?: AbortSignal;
}

/** Parallel gzip: input cut in members of memberSize (default 4 MiB), up to `concurrency` (default 2) members compressed at once with async zlib.gzip and chunkSize >= memberSize + 64 KiB, written in order. Adaptive: before each member, deflate 4 samples of 16 KiB at level 1; if they shrink by less than 5 %, write that member at level 0. Default level 1. */
export async function* compressGzip(
  source: AsyncIterable<Buffer>,
  options?: GzipOptions,
): AsyncGenerator<Buffer> {
  const level = options?.level ?? 1;
  const memberSize = options?.memberSize ?? 4 * MiB;
  const concurrency = options?.concurrency ?? 2;
  const signal = options?.signal;
  if (!Number.isInteger(level) || level < 0 || level > 9) {
    throw new InvalidArgument(`compress gzip: level ${level} is not an integer from 0 to 9`);
  }
  if (!Number.isInteger(memberSize) || memberSize < 1) {
    throw new InvalidArgument(`compress gzip: member size ${memberSize} is not a positive integer`);
  }
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new InvalidArgument(`compress gzip: concurrency ${concurrency} is not a positive integer`);
  }
  const inFlight: Promise<Buffer>[] = [];
  let members = 0;
  for await (const piece of pieces(source, memberSize)) {
    signal?.throwIfAborted();
    const member = compressMember(piece, level, memberSize);
    // Awaited below in order; until then a rejection must not count as unhandled.
    member.catch(() => {});
    inFlight.push(member);
    members++;
    if (inFlight.length >= concurrency) yield await inFlight.shift()!;
  }
  // An empty input still needs one (empty) member to be a valid gzip file.
  if (members === 0) inFlight.push(compressMember(Buffer.alloc(0), level, memberSize));
  while (inFlight.length > 0) {
    signal?.throwIfAborted();
    yield await inFlight.shift()!;
  }
}

const SAMPLES = 4;
const SAMPLE_SIZE = 16 * KiB;

async function compressMember(data: Buffer, level: number, memberSize: number): Promise<Buffer> {
  let chosen = level;
  if (level > 0 && !(await worthDeflating(data))) chosen = 0;
  // The whole member's output in one chunk: with the 16 KiB default every chunk is a trip
  // back to the JS thread, which stalls the pool on 2 cores (docs/compression.md#zlib-chunksize).
  return gzip(data, { level: chosen, chunkSize: memberSize + 64 * KiB });
}

/** Deflating random data at any level gains nothing and runs 20× slower than storing it. */
async function worthDeflating(data: Buffer): Promise<boolean> {
  const samples: Buffer[] = [];
  if (data.length <= SAMPLES * SAMPLE_SIZE) samples.push(data);
  else {
    const step = Math.floor((data.length - SAMPLE_SIZE) / (SAMPLES - 1));
    for (let i = 0; i < SAMPLES; i++) samples.push(data.subarray(i * step, i * step + SAMPLE_SIZE));
  }
  const sizes = await Promise.all(
    samples.map(async (sample) => (await deflateRaw(sample, { level: 1 })).length),
  );
  const input = samples.reduce((sum, sample) => sum + sample.length, 0);
  const output = sizes.reduce((sum, size) => sum + size, 0);
  return output < input * 0.95;
}

/** Re-cuts a stream into buffers of exactly `size` bytes (the last may be shorter). */
async function* pieces(source: AsyncIterable<Buffer>, size: number): AsyncGenerator<Buffer> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  for await (let chunk of source) {
    while (pendingBytes + chunk.length >= size) {
      const need = size - pendingBytes;
      // A chunk that covers a whole piece is used in place, without a copy.
      yield pendingBytes === 0
        ? chunk.subarray(0, need)
        : Buffer.concat([...pending, chunk.subarray(0, need)]);
      pending = [];
      pendingBytes = 0;
      chunk = chunk.subarray(need);
    }
    if (chunk.length > 0) {
      pending.push(chunk);
      pendingBytes += chunk.length;
    }
  }
  if (pendingBytes > 0) yield Buffer.concat(pending);
}

/** zstd by spawning `zstd -T2 -3 -c` (level option). */
export function compressZstd(
  source: AsyncIterable<Buffer>,
  options?: { level?: number; signal?: AbortSignal },
): AsyncIterable<Buffer> {
  const level = options?.level ?? 3;
  if (!Number.isInteger(level) || level < 1 || level > 22) {
    throw new InvalidArgument(`compress zstd: level ${level} is not an integer from 1 to 22`);
  }
  const args = ['-T2', `-${level}`, '-c', '-q'];
  if (level > 19) args.unshift('--ultra');
  return filter('zstd', args, source, { verb: 'compress zstd', signal: options?.signal });
}

/**
 * Runs `command` as a filter: `source` into its stdin, its stdout out. The child is killed
 * and reaped whenever the consumer stops, the source fails or the signal fires. A non-zero
 * exit is DataLoss when decompressing (the input was bad) and an internal error otherwise.
 */
async function* filter(
  command: 'zstd' | 'xz' | 'bzip2',
  args: string[],
  source: AsyncIterable<Buffer>,
  context: { verb: string; signal: AbortSignal | undefined },
): AsyncGenerator<Buffer> {
  const { verb, signal } = context;
  signal?.throwIfAborted();
  const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let spawnError: Error | undefined;
  const closed = new Promise<number | null>((resolve) => {
    child.once('error', (err) => {
      spawnError = err;
      resolve(null);
    });
    child.once('close', (code) => resolve(code));
  });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (text: string) => {
    if (stderr.length < 4 * KiB) stderr += text;
  });
  let sourceError: unknown;
  const tapped = (async function* () {
    try {
      yield* source;
    } catch (err) {
      sourceError = err;
      throw err;
    }
  })();
  // Errors here are EPIPE when the child exits early, or the source's own, recorded above.
  pipeline(Readable.from(tapped, { objectMode: false }), child.stdin, () => {});
  const abort = (): void => {
    child.kill('SIGKILL');
  };
  signal?.addEventListener('abort', abort, { once: true });
  let finished = false;
  try {
    for await (const chunk of child.stdout) yield chunk as Buffer;
    const code = await closed;
    signal?.throwIfAborted();
    if (spawnError !== undefined) {
      if (errnoCode(spawnError) === 'ENOENT') {
        throw new FailedPrecondition(
          `${verb}: \`${command}\` not installed (apt-get install ${PROGRAMS[command].package})`,
          {
            cause: spawnError,
          },
        );
      }
      throw new FailedPrecondition(`${verb}: run \`${command}\`: ${spawnError.message}`, {
        cause: spawnError,
      });
    }
    if (sourceError !== undefined) throw sourceError;
    if (code !== 0) {
      const cause = `\`${command}\` exited with status ${code}: ${lastLine(stderr)}`;
      throw verb.startsWith('decompress')
        ? new DataLoss(`${verb}: corrupt data: ${cause}`)
        : new SkiffError('COMPRESS_FAILED', 'internal', `${verb}: ${cause}`);
    }
    finished = true;
  } finally {
    signal?.removeEventListener('abort', abort);
    if (!finished && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    child.stdin.destroy();
    child.stdout.destroy();
    // Reap the child so that no zombie outlives the stream.
    await closed;
  }
}

function lastLine(text: string): string {
  // zstd prefixes its messages with the input's name, which for a pipe is `/*stdin*\`.
  const line = (text.trim().split('\n').pop() ?? '').replace(/^(zstd: )?\/\*stdin\*\\\s*:\s*/, '');
  return line === '' ? 'no message' : line;
}
