/** Small helpers for async byte streams. */

/** Reads the first chunk(s) until `bytes` are available, and returns them with a stream that still yields everything. */
export async function peek(
  source: AsyncIterable<Buffer>,
  bytes: number,
): Promise<{ head: Buffer; stream: AsyncIterable<Buffer> }> {
  const iterator = source[Symbol.asyncIterator]();
  const seen: Buffer[] = [];
  let length = 0;
  let done = false;
  while (length < bytes) {
    const next = await iterator.next();
    if (next.done) {
      done = true;
      break;
    }
    seen.push(next.value);
    length += next.value.length;
  }
  const head = Buffer.concat(seen);
  async function* stream(): AsyncGenerator<Buffer> {
    if (head.length > 0) yield head;
    if (done) return;
    for (;;) {
      const next = await iterator.next();
      if (next.done) return;
      yield next.value;
    }
  }
  return { head, stream: stream() };
}

/** Counts bytes passing through. */
export function counted(source: AsyncIterable<Buffer>, onChunk: (n: number) => void): AsyncIterable<Buffer> {
  return (async function* () {
    for await (const chunk of source) {
      onChunk(chunk.length);
      yield chunk;
    }
  })();
}
