/**
 * A build context that arrives as a tar stream (the Docker API's `POST /build`): the docker
 * CLI sends it plain, docker-py with PAX headers, dockerode gzip-compressed. It is unpacked by
 * skiff's own layer extractor, which lets no entry reach outside the directory, into a
 * directory of its own under the store's tmp/, and that directory is removed once the build
 * is over, whether it succeeded, failed or was abandoned.
 */
import fs from 'node:fs';
import path from 'node:path';
import { applyLayer } from '../../archive/apply-layer.js';
import { decompressArchive, detectArchiveCompression } from '../../archive/compression.js';
import type { Digest } from '../../oci/digest.js';
import type { Credentials } from '../../registry/client/credentials.js';
import { secureJoin } from '../../runtime/in-root.js';
import { formatByteSize } from '../../util/byte-size.js';
import { InvalidArgument } from '../../util/errors.js';
import { peek } from '../../util/streams.js';
import type { BuildOptions } from '../builder.js';

const BLOCK = 512;

export type ContextArchiveBuildOptions = Omit<
  BuildOptions,
  'context' | 'dockerfile' | 'dockerfileName' | 'fetch'
> & {
  /** The Dockerfile's path inside the context; default `Dockerfile` (or `dockerfile`). */
  dockerfilePath?: string;
  /** Credentials by registry for the images FROM names, instead of the stored ones. */
  credentials?: Record<string, Credentials>;
  /** Stops reading the context (the client went away). */
  signal?: AbortSignal;
};

export interface ContextArchiveOptions {
  /** Where the context directory is made: the store's tmp/, on the store's file system. */
  tmp: string;
  /** Uncompressed bytes the context may take on disk. */
  maxBytes: number;
  dockerfilePath?: string;
  signal?: AbortSignal;
}

/**
 * Unpacks the context into a fresh directory, reads its Dockerfile and runs `build` with both;
 * the directory is removed afterwards in every case.
 */
export async function withContextArchive(
  source: AsyncIterable<Buffer>,
  options: ContextArchiveOptions,
  build: (context: string, dockerfile: string, dockerfileName: string) => Promise<Digest>,
): Promise<Digest> {
  fs.mkdirSync(options.tmp, { recursive: true });
  const dir = fs.mkdtempSync(path.join(options.tmp, 'context-'));
  try {
    await unpackContext(source, dir, options);
    const { text, name } = readDockerfile(dir, options.dockerfilePath);
    return await build(dir, text, name);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function unpackContext(
  source: AsyncIterable<Buffer>,
  dir: string,
  options: ContextArchiveOptions,
): Promise<void> {
  const { head, stream } = await peek(source, 6);
  if (head.length === 0) throw new InvalidArgument('build: the context is empty', { code: 'BUILD_CONTEXT' });
  const tar = decompressArchive(stream, detectArchiveCompression(head), { signal: options.signal });
  try {
    await applyLayer(completed(bounded(tar, options.maxBytes)), dir, { signal: options.signal });
  } catch (err) {
    if (options.signal?.aborted || (err instanceof InvalidArgument && err.code === 'BUILD_CONTEXT'))
      throw err;
    throw new InvalidArgument(`build: the context archive: ${(err as Error).message}`, {
      code: 'BUILD_CONTEXT',
      cause: err,
    });
  }
}

/**
 * The tar with its end restored: the docker CLI's context with a Dockerfile from outside it
 * (`-f ../Dockerfile`) is rewritten by a tar wrapper that closes its pipe before the writer,
 * so the last entry's padding and the end-of-archive blocks never come. Zeros up to the
 * block boundary and two zero blocks make such a stream whole; after a complete archive they
 * are ignored as trailing bytes.
 */
async function* completed(tar: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  let bytes = 0;
  for await (const chunk of tar) {
    bytes += chunk.length;
    yield chunk;
  }
  yield Buffer.alloc(((BLOCK - (bytes % BLOCK)) % BLOCK) + 2 * BLOCK);
}

/** The tar, refused at its first byte past `limit`: a context cannot fill the disk. */
async function* bounded(tar: AsyncIterable<Buffer>, limit: number): AsyncGenerator<Buffer> {
  let bytes = 0;
  for await (const chunk of tar) {
    bytes += chunk.length;
    if (bytes > limit)
      throw new InvalidArgument(
        `build: the context is over ${formatByteSize(limit)} uncompressed, the store's layer size limit (maxLayerSize)`,
        { code: 'BUILD_CONTEXT' },
      );
    yield chunk;
  }
}

/**
 * The Dockerfile at `given` inside the context (symlinks resolved within it), or, as Docker
 * looks, `Dockerfile` and then `dockerfile`. Its name in messages is the path as given.
 */
function readDockerfile(dir: string, given: string | undefined): { text: string; name: string } {
  const candidates = given ? [given] : ['Dockerfile', 'dockerfile'];
  for (const name of candidates) {
    const file = secureJoin(dir, name);
    if (fs.statSync(file, { throwIfNoEntry: false })?.isFile())
      return { text: fs.readFileSync(file, 'utf8'), name: path.basename(name) };
  }
  throw new InvalidArgument(`build: cannot locate the Dockerfile \`${candidates[0]}\` in the context`, {
    code: 'BUILD_CONTEXT',
  });
}
