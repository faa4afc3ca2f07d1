/**
 * A pull-based byte queue over an async iterable of chunks, for parsers that need exact
 * byte counts across arbitrary chunk boundaries. Small reads (headers) are copied into one
 * buffer; large reads (file data) are handed out as subarrays of the source's chunks.
 */

export class ByteInput {
  /** Bytes handed out so far: the absolute offset of the next byte. */
  offset = 0;
  /** Buffered chunks from index `head` on; consumed slots are dropped in batches. */
  private chunks: Buffer[] = [];
  private head = 0;
  private buffered = 0;
  private done = false;
  private readonly iterator: AsyncIterator<Buffer | Uint8Array>;

  constructor(
    source: AsyncIterable<Buffer | Uint8Array>,
    private readonly signal?: AbortSignal,
  ) {
    this.iterator = source[Symbol.asyncIterator]();
  }

  /** Bytes available without pulling. */
  get available(): number {
    return this.buffered;
  }

  /** Pulls until `n` bytes are buffered or the source ends; returns whether `n` are there. */
  async fill(n: number): Promise<boolean> {
    while (this.buffered < n && (await this.pull()));
    return this.buffered >= n;
  }

  /** Takes exactly `n` buffered bytes (call `fill(n)` first). */
  take(n: number): Buffer {
    if (n === 0) return Buffer.alloc(0);
    if (this.chunks[this.head]!.length >= n) return this.takeFromFirst(n);
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      filled += this.takeFromFirst(Math.min(n - filled, this.chunks[this.head]!.length)).copy(out, filled);
    }
    return out;
  }

  /** Up to `max` bytes without copying, or undefined when the source has ended. */
  async next(max: number): Promise<Buffer | undefined> {
    if (this.buffered === 0 && !(await this.pull())) return undefined;
    return this.takeFromFirst(Math.min(max, this.chunks[this.head]!.length));
  }

  /** Everything left in the source, read to its end. */
  async rest(): Promise<Buffer> {
    while (await this.pull());
    return this.take(this.buffered);
  }

  /** Stops the source early (it may hold a file or a socket). */
  async close(): Promise<void> {
    if (this.done) return;
    this.done = true;
    await this.iterator.return?.();
  }

  private takeFromFirst(n: number): Buffer {
    const first = this.chunks[this.head]!;
    let piece = first;
    if (n === first.length) {
      this.head++;
      if (this.head === this.chunks.length) {
        this.chunks = [];
        this.head = 0;
      } else if (this.head >= 1024) {
        this.chunks = this.chunks.slice(this.head);
        this.head = 0;
      }
    } else {
      piece = first.subarray(0, n);
      this.chunks[this.head] = first.subarray(n);
    }
    this.buffered -= n;
    this.offset += n;
    return piece;
  }

  private async pull(): Promise<boolean> {
    for (;;) {
      this.signal?.throwIfAborted();
      if (this.done) return false;
      const result = await this.iterator.next();
      this.signal?.throwIfAborted();
      if (result.done) {
        this.done = true;
        return false;
      }
      const value = result.value;
      if (value.length === 0) continue;
      this.chunks.push(
        Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.length),
      );
      this.buffered += value.length;
      return true;
    }
  }
}
