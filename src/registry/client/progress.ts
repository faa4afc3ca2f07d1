/**
 * Progress of a pull or push, as events: one stream of them per operation, keyed by blob. The
 * CLI draws them (bars on a terminal, lines otherwise); tests collect them to count bytes.
 */
import type { Digest } from '../../oci/digest.js';

export type Phase =
  | 'waiting'
  | 'compressing'
  | 'exists'
  | 'mounted'
  | 'uploading'
  | 'downloading'
  | 'retrying'
  | 'verifying'
  | 'done';

export interface ProgressEvent {
  /** The blob's digest (a layer's compressed blob, or the config). */
  digest: Digest;
  /** A stable key for the item when its digest changes (a layer compressed on push: its local digest). */
  id?: Digest;
  kind: 'layer' | 'config';
  phase: Phase;
  /** Bytes moved so far in this phase (uploading/downloading). */
  bytes?: number;
  total?: number;
  /** For `mounted`: the repository the blob was mounted from. */
  from?: string;
  /** For `retrying`: why. */
  reason?: string;
}

export type ProgressListener = (event: ProgressEvent) => void;

/** Sends events to an optional listener; throttles byte updates to one per 64 KiB step of 1 %. */
export class Progress {
  private readonly last = new Map<Digest, number>();

  constructor(private readonly listener: ProgressListener | undefined) {}

  emit(event: ProgressEvent): void {
    this.listener?.(event);
  }

  bytes(
    digest: Digest,
    kind: ProgressEvent['kind'],
    phase: Phase,
    bytes: number,
    total: number,
    id?: Digest,
  ): void {
    if (this.listener === undefined) return;
    const step = Math.max(total / 100, 1 << 16);
    const previous = this.last.get(digest) ?? -Infinity;
    if (bytes < total && bytes - previous < step) return;
    this.last.set(digest, bytes);
    this.listener({ digest, kind, phase, bytes, total, ...(id !== undefined ? { id } : {}) });
  }
}
