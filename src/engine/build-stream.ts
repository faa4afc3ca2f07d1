/**
 * A build from one stream (Engine.buildStream), as `docker build -` reads stdin: a compressed
 * stream, or one that starts with a tar header, is the context, unpacked as the API's context
 * archives are (Engine.buildContextArchive); anything else is the Dockerfile itself, built
 * with an empty context.
 */
import fs from 'node:fs';
import path from 'node:path';
import { detectArchiveCompression } from '../archive/compression.js';
import { BLOCK } from '../archive/tar-header.js';
import { isTarHeader } from '../build/add-source.js';
import type { BuildOptions } from '../build/builder.js';
import type { ContextArchiveBuildOptions } from '../build/context/context-archive.js';
import type { Digest } from '../oci/digest.js';
import { peek } from '../util/streams.js';

/** What a stream build needs of the Engine that calls it. */
export interface BuildStreamParts {
  /** The store's tmp/, where the empty context is made. */
  tmp: string;
  buildContextArchive(source: AsyncIterable<Buffer>, options: ContextArchiveBuildOptions): Promise<Digest>;
  build(options: BuildOptions): Promise<Digest>;
}

/** The build's options; `dockerfilePath` is the Dockerfile's path in a context archive. */
export type BuildStreamOptions = Omit<ContextArchiveBuildOptions, 'credentials' | 'signal'>;

export async function buildStream(
  parts: BuildStreamParts,
  source: AsyncIterable<Buffer>,
  options: BuildStreamOptions,
): Promise<Digest> {
  const { head, stream } = await peek(source, BLOCK);
  const archive =
    detectArchiveCompression(head) !== 'none' ||
    (head.length >= BLOCK && isTarHeader(head.subarray(0, BLOCK)));
  if (archive) return parts.buildContextArchive(stream, options);
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  // A Dockerfile alone has no context: COPY finds nothing, as with `docker build -`.
  const { dockerfilePath: _inArchive, ...build } = options;
  fs.mkdirSync(parts.tmp, { recursive: true });
  const context = fs.mkdtempSync(path.join(parts.tmp, 'context-'));
  try {
    return await parts.build({
      ...build,
      context,
      dockerfile: Buffer.concat(chunks).toString('utf8'),
      dockerfileName: 'Dockerfile',
    });
  } finally {
    fs.rmSync(context, { recursive: true, force: true });
  }
}
