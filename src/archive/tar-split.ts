/**
 * tar-split: the bytes of a layer tar that are not file content, kept beside the unpacked
 * layer so the exact tar (and so its diff ID) can be rebuilt from the files later.
 *
 * Format: gzip (one or more members) of a sequence of frames, integers big-endian:
 *   'R' u32 length, then that many raw archive bytes (headers, padding, skipped bodies, trailer)
 *   'F' u64 size, u16 length, then that many bytes of UTF-8 path: the content of root/<path>
 */
import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream';
import zlib from 'node:zlib';
import {
  DataLoss,
  FailedPrecondition,
  InvalidArgument,
  NotFound,
  SkiffError,
  errnoCode,
} from '../util/errors.js';
import type { LayerRecorder } from './apply-layer.js';
import { ByteInput } from './byte-input.js';
import { readFully, shrank } from './read-fully.js';

const MiB = 1 << 20;
/** Frames are compressed in batches of this size, each as its own gzip member. */
const BATCH = MiB;
/** File reads, and the size of the buffers reassembly yields. */
const CHUNK = MiB;
/** Files up to this size are read straight into the output buffer. */
const SMALL_FILE = 256 * 1024;
const RAW = 0x52; // 'R'
const FILE = 0x46; // 'F'
const MAX_RAW = 0xffffffff;
const MAX_PATH = 0xffff;

/**
 * Streams a tar-split record to `file`. Recorder calls are synchronous (they run inside the
 * extraction loop, with no way to wait for a stream to drain), so frames are gathered into 1 MiB
 * batches and each batch is written as one gzip member: memory stays bounded and gunzip reads
 * the members as one stream. Call close() even after a failure, to release the descriptor.
 */
export class TarSplitWriter implements LayerRecorder {
  private fd: number | undefined;
  private batch = Buffer.allocUnsafe(BATCH);
  private used = 0;

  constructor(private readonly splitFile: string) {
    this.fd = fs.openSync(splitFile, 'w', 0o644);
  }

  raw(bytes: Buffer): void {
    for (let at = 0; at < bytes.length; at += MAX_RAW) {
      const piece = bytes.subarray(at, at + MAX_RAW);
      const header = this.reserve(5);
      this.batch[header] = RAW;
      this.batch.writeUInt32BE(piece.length, header + 1);
      this.put(piece);
    }
  }

  file(filePath: string, size: number): void {
    const name = Buffer.from(filePath, 'utf8');
    if (name.length > MAX_PATH) {
      throw new InvalidArgument(`record tar-split \`${this.splitFile}\`: path \`${filePath}\` is too long`);
    }
    const header = this.reserve(11);
    this.batch[header] = FILE;
    this.batch.writeBigUInt64BE(BigInt(size), header + 1);
    this.batch.writeUInt16BE(name.length, header + 9);
    this.put(name);
  }

  /** Writes what is left and fsyncs; the caller renames the layer into place after this. */
  async close(): Promise<void> {
    if (this.fd === undefined) return;
    const fd = this.fd;
    this.fd = undefined;
    try {
      this.flush(fd);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  }

  /** Room for `n` contiguous bytes in the batch; returns their offset. */
  private reserve(n: number): number {
    if (this.used + n > BATCH) this.flush(this.open());
    const at = this.used;
    this.used += n;
    return at;
  }

  private put(bytes: Buffer): void {
    for (let at = 0; at < bytes.length; ) {
      if (this.used === BATCH) this.flush(this.open());
      const n = bytes.copy(this.batch, this.used, at);
      this.used += n;
      at += n;
    }
  }

  private open(): number {
    if (this.fd === undefined)
      throw new FailedPrecondition(`record tar-split \`${this.splitFile}\`: already closed`);
    return this.fd;
  }

  private flush(fd: number): void {
    if (this.used === 0) return;
    const member = zlib.gzipSync(this.batch.subarray(0, this.used), { level: 1 });
    for (let done = 0; done < member.length; ) done += fs.writeSync(fd, member, done);
    this.used = 0;
  }
}

/**
 * Yields the exact bytes of the original tar: raw frames as recorded, and each file's content
 * read from root/<path>, which must be a regular file of exactly the recorded size (DataLoss
 * otherwise: the unpacked layer was changed and can no longer give its diff ID).
 */
export async function* reassembleTar(
  splitFile: string,
  root: string,
  options: { signal?: AbortSignal } = {},
): AsyncGenerator<Buffer> {
  const { signal } = options;
  const verb = `reassemble tar \`${splitFile}\``;
  const gunzip = pipeline(
    fs.createReadStream(splitFile, { highWaterMark: MiB }),
    zlib.createGunzip({ chunkSize: MiB }),
    () => {}, // errors reach the reader below through the destroyed gunzip stream
  );
  const input = new ByteInput(gunzip, signal);
  let out = Buffer.allocUnsafe(CHUNK);
  let used = 0;
  const need = async (n: number): Promise<void> => {
    if (!(await input.fill(n))) throw new DataLoss(`${verb}: record truncated`);
  };
  try {
    for (;;) {
      signal?.throwIfAborted();
      if (!(await input.fill(1))) break;
      const tag = input.take(1)[0];
      if (tag === RAW) {
        await need(4);
        let left = input.take(4).readUInt32BE(0);
        while (left > 0) {
          const piece = await input.next(left);
          if (piece === undefined) throw new DataLoss(`${verb}: record truncated`);
          left -= piece.length;
          if (used + piece.length > CHUNK) {
            if (used > 0) yield out.subarray(0, used);
            out = Buffer.allocUnsafe(CHUNK);
            used = 0;
          }
          if (piece.length >= CHUNK) yield piece;
          else used += piece.copy(out, used);
        }
      } else if (tag === FILE) {
        await need(10);
        const header = input.take(10);
        const size = Number(header.readBigUInt64BE(0));
        const length = header.readUInt16BE(8);
        await need(length);
        const rel = input.take(length).toString('utf8');
        const file = openRecorded(verb, root, rel, size);
        try {
          if (size <= SMALL_FILE) {
            if (used + size > CHUNK) {
              yield out.subarray(0, used);
              out = Buffer.allocUnsafe(CHUNK);
              used = 0;
            }
            readFully(file, out, used, size, () => shrank(verb, rel));
            used += size;
            continue;
          }
          if (used > 0) yield out.subarray(0, used);
          out = Buffer.allocUnsafe(CHUNK);
          used = 0;
          for (let left = size; left > 0; ) {
            signal?.throwIfAborted();
            const chunk = Buffer.allocUnsafe(Math.min(left, CHUNK));
            readFully(file, chunk, 0, chunk.length, () => shrank(verb, rel));
            left -= chunk.length;
            yield chunk;
          }
        } finally {
          fs.closeSync(file);
        }
      } else {
        throw new DataLoss(`${verb}: unknown frame type 0x${(tag ?? 0).toString(16)}`);
      }
    }
    if (used > 0) yield out.subarray(0, used);
  } catch (err) {
    throw wrap(err, verb, splitFile);
  } finally {
    await input.close();
    gunzip.destroy();
  }
}

/** Opens root/<rel> for reading after checking it is still what the record says. */
function openRecorded(verb: string, root: string, rel: string, size: number): number {
  const what = `${verb}: file \`${rel}\``;
  if (rel === '' || rel.startsWith('/') || rel.split('/').some((p) => p === '' || p === '.' || p === '..')) {
    throw new DataLoss(`${what}: not a path inside the layer (corrupt record)`);
  }
  const abs = path.join(root, rel);
  let st: fs.Stats;
  try {
    st = fs.lstatSync(abs);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') throw new DataLoss(`${what}: missing from the layer`);
    throw err;
  }
  if (!st.isFile()) throw new DataLoss(`${what}: no longer a regular file`);
  if (st.size !== size) throw new DataLoss(`${what}: size is ${st.size}, the record says ${size}`);
  return fs.openSync(abs, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
}

function wrap(err: unknown, verb: string, splitFile: string): unknown {
  if (err instanceof SkiffError || (err instanceof Error && err.name === 'AbortError')) return err;
  const code = errnoCode(err);
  const message = err instanceof Error ? err.message : String(err);
  if (code === 'ENOENT' && (err as { path?: unknown }).path === splitFile) {
    return new NotFound(`${verb}: no such record`, { cause: err });
  }
  if (code?.startsWith('Z_')) return new DataLoss(`${verb}: corrupt record: ${message}`, { cause: err });
  return new SkiffError('REASSEMBLE_TAR_FAILED', 'internal', `${verb}: ${message}`, { cause: err });
}
