/**
 * What ADD does beyond COPY (Dockerfile reference, "ADD"): a local tar archive — plain, gzip,
 * bzip2, xz or zstd, recognised by its content, not its name — is extracted into the
 * destination directory, and a URL is downloaded (mode 0600, its Last-Modified as mtime).
 * Archive entries are re-rooted under the destination: `..` is clamped at it, hard links are
 * re-pointed into it, and whiteout names are refused, so an archive can add files only below
 * the destination and never delete any of the image's.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { pipeline } from 'node:stream/promises';
import {
  decompressArchive,
  detectArchiveCompression,
  type ArchiveCompression,
} from '../archive/compression.js';
import { BLOCK, type TarEntry } from '../archive/tar-header.js';
import { readTar } from '../archive/tar-reader.js';
import type { WriteEntry } from '../archive/tar-writer.js';
import { FailedPrecondition, InvalidArgument } from '../util/errors.js';
import { nodeHttp, nodeHttps } from '../util/lazy-node.js';

/** The file's compression when it is a tar archive, else undefined (ADD copies it as it is). */
export async function tarArchive(file: string): Promise<ArchiveCompression | undefined> {
  const head = Buffer.alloc(BLOCK);
  const fd = fs.openSync(file, 'r');
  let read: number;
  try {
    read = fs.readSync(fd, head, 0, BLOCK, 0);
  } finally {
    fs.closeSync(fd);
  }
  const kind = detectArchiveCompression(head.subarray(0, read));
  if (kind === 'none') return read === BLOCK && isTarHeader(head) ? kind : undefined;
  try {
    const block = await firstBytes(decompressArchive(fs.createReadStream(file), kind), BLOCK);
    return block.length === BLOCK && isTarHeader(block) ? kind : undefined;
  } catch {
    // Not a valid compressed stream: a file that merely starts like one.
    return undefined;
  }
}

async function firstBytes(source: AsyncIterable<Buffer>, n: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let have = 0;
  for await (const chunk of source) {
    chunks.push(chunk);
    have += chunk.length;
    if (have >= n) break;
  }
  return Buffer.concat(chunks).subarray(0, n);
}

/** A ustar/GNU/v7 header block: its checksum field matches the block's byte sum. */
export function isTarHeader(block: Buffer): boolean {
  const field = block
    .toString('latin1', 148, 156)
    .replace(/[\0 ]+$/, '')
    .trim();
  if (!/^[0-7]+$/.test(field)) return false;
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : block[i]!;
  return sum === parseInt(field, 8);
}

/**
 * The archive's entries, renamed under `destDir` (absolute, in the image), for the layer's
 * tar writer. `owner` replaces the archive's owners when `--chown` was given.
 */
export async function* archiveEntries(
  file: string,
  compression: ArchiveCompression,
  destDir: string,
  owner?: { uid: number; gid: number },
): AsyncGenerator<WriteEntry> {
  const root = path.posix.normalize(destDir).slice(1);
  const under = (name: string): string => {
    const clean = path.posix.normalize(`/${name}`).slice(1).replace(/\/$/, '');
    return root === '' ? clean : clean === '' ? root : `${root}/${clean}`;
  };
  const source = decompressArchive(fs.createReadStream(file, { highWaterMark: 1 << 20 }), compression);
  for await (const { entry, body } of readTar(source)) {
    const name = under(entry.name);
    if (name === root) continue; // the archive's `./`: the destination directory itself
    if (path.posix.basename(name).startsWith('.wh.')) {
      throw new InvalidArgument(
        `ADD \`${path.basename(file)}\`: archive entry \`${entry.name}\` has a whiteout name`,
      );
    }
    const renamed: TarEntry = { ...entry, name: entry.type === 'dir' ? `${name}/` : name };
    if (entry.type === 'hardlink') renamed.linkname = under(entry.linkname ?? '');
    if (owner) Object.assign(renamed, { uid: owner.uid, gid: owner.gid, uname: '', gname: '' });
    yield { entry: renamed, body: entry.type === 'file' ? body : undefined };
  }
}

export interface Download {
  /** The downloaded file, under the directory given. */
  file: string;
  /** The last segment of the URL's path; '' when it has none. */
  name: string;
  /** From Last-Modified, in seconds; undefined without one. */
  mtime?: number;
  /** sha256 of the content, hex. */
  sha256: string;
}

const MAX_REDIRECTS = 10;

/** GET `url` into a new file under `dir`, following redirects; checks `--checksum` when given. */
export async function download(
  url: string,
  dir: string,
  o: { checksum?: string; signal?: AbortSignal } = {},
): Promise<Download> {
  let target = new URL(url);
  for (let hops = 0; ; hops++) {
    const response = await get(target, o.signal);
    const status = response.statusCode ?? 0;
    if (status >= 300 && status < 400 && response.headers.location) {
      response.resume();
      if (hops >= MAX_REDIRECTS)
        throw new FailedPrecondition(`ADD ${url}: more than ${MAX_REDIRECTS} redirects`);
      target = new URL(response.headers.location, target);
      continue;
    }
    if (status !== 200) {
      response.resume();
      throw new FailedPrecondition(
        `ADD ${url}: the server answered ${status} ${response.statusMessage ?? ''}`.trim(),
      );
    }
    const file = path.join(dir, `url-${createHash('sha256').update(url).digest('hex').slice(0, 16)}`);
    const hash = createHash(o.checksum?.split(':')[0] ?? 'sha256');
    const sha256 = o.checksum === undefined || o.checksum.startsWith('sha256:') ? hash : createHash('sha256');
    await pipeline(
      response,
      async function* (chunks: AsyncIterable<Buffer>) {
        for await (const chunk of chunks) {
          hash.update(chunk);
          if (sha256 !== hash) sha256.update(chunk);
          yield chunk;
        }
      },
      fs.createWriteStream(file, { mode: 0o600 }),
    ).catch((err: Error) => {
      fs.rmSync(file, { force: true });
      throw new FailedPrecondition(`ADD ${url}: ${err.message}`, { cause: err });
    });
    const digest = hash.digest('hex');
    if (o.checksum !== undefined && `${o.checksum.split(':')[0]}:${digest}` !== o.checksum) {
      fs.rmSync(file, { force: true });
      throw new InvalidArgument(
        `ADD ${url}: --checksum=${o.checksum} does not match the content (${digest})`,
      );
    }
    const modified = Date.parse(response.headers['last-modified'] ?? '');
    return {
      file,
      name: decodeURIComponent(path.posix.basename(target.pathname)),
      mtime: Number.isNaN(modified) ? undefined : Math.floor(modified / 1000),
      sha256: sha256 === hash ? digest : sha256.digest('hex'),
    };
  }
}

function get(url: URL, signal: AbortSignal | undefined): Promise<IncomingMessage> {
  const client = url.protocol === 'https:' ? nodeHttps() : nodeHttp();
  return new Promise((resolve, reject) => {
    const request = client.get(url, { signal }, resolve);
    request.on('error', (err) =>
      reject(new FailedPrecondition(`ADD ${url.href}: ${err.message}`, { cause: err })),
    );
  });
}
