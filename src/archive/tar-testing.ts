/** Test support for the tar reader: feed an archive in chunks, read it all, check reassembly. */
import assert from 'node:assert/strict';
import { readTar } from './tar-reader.js';
import type { TarEntry } from './tar-header.js';

export interface Read {
  entry: TarEntry;
  data: Buffer;
}

function* rechunk(data: Buffer, size: number): Generator<Buffer> {
  for (let i = 0; i < data.length; i += size) yield data.subarray(i, i + size);
}

export async function* asyncChunks(data: Buffer, size: number): AsyncGenerator<Buffer> {
  yield* rechunk(data, size);
}

/** Reads every entry and checks that raw + bodies + trailer give back the input exactly. */
export async function readAll(archive: Buffer, chunkSize = 65536): Promise<Read[]> {
  const reader = readTar(asyncChunks(archive, chunkSize));
  const out: Read[] = [];
  const parts: Buffer[] = [];
  for await (const { entry, raw, body } of reader) {
    parts.push(raw);
    const chunks: Buffer[] = [];
    for await (const chunk of body) chunks.push(chunk);
    for (const chunk of chunks) parts.push(chunk);
    out.push({ entry, data: Buffer.concat(chunks) });
  }
  parts.push(reader.trailer);
  assert.ok(Buffer.concat(parts).equals(archive), `reassembly differs at chunk size ${chunkSize}`);
  return out;
}
