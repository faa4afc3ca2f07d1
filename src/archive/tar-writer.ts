/**
 * Streaming tar writer: headers from `encodeHeader`, data passed through without copying,
 * padding, and the end-of-archive marker. The output depends only on the entries, so the
 * same tree always gives the same diff ID.
 */
import { DataLoss } from '../util/errors.js';
import { END_OF_ARCHIVE, encodeHeader, paddingFor, type TarEntry } from './tar-header.js';

export interface WriteEntry {
  entry: TarEntry;
  /** Exactly `entry.size` bytes for files; omitted for everything else. */
  body?: Buffer | Iterable<Buffer> | AsyncIterable<Buffer>;
}

/**
 * Yields the archive for `entries`. Throws DataLoss when a body gives fewer or more bytes
 * than its entry's size: a file that changed while it was being read.
 */
export async function* writeTar(
  entries: Iterable<WriteEntry> | AsyncIterable<WriteEntry>,
  options?: { signal?: AbortSignal },
): AsyncGenerator<Buffer> {
  for await (const { entry, body } of entries) {
    options?.signal?.throwIfAborted();
    yield encodeHeader(entry);
    let written = 0;
    if (body !== undefined) {
      for await (const chunk of Buffer.isBuffer(body) ? [body] : body) {
        options?.signal?.throwIfAborted();
        written += chunk.length;
        if (written > entry.size) break;
        if (chunk.length > 0) yield chunk;
      }
    }
    if (written !== entry.size) {
      const cause = written > entry.size ? `more than ${entry.size}` : `${written} of ${entry.size}`;
      throw new DataLoss(`write tar: entry \`${entry.name}\`: body gave ${cause} bytes`);
    }
    const padding = paddingFor(entry.size);
    if (padding.length > 0) yield padding;
  }
  yield END_OF_ARCHIVE;
}
