/**
 * Content digests: "<algorithm>:<hex>" (image-spec descriptor.md, "Digests").
 * Only the two registered algorithms are supported; the spec lets other algorithms pass its
 * grammar, but skiff could never verify them, so they are rejected here rather than later.
 */

import { createHash, type Hash } from 'node:crypto';
import { FailedPrecondition, InvalidArgument } from '../util/errors.js';
import { fail, jsonType, quote } from './fields.js';

export type Algorithm = 'sha256' | 'sha512';

/** "sha256:<64 hex>" or "sha512:<128 hex>", lowercase. */
export type Digest = string;

const HEX_LENGTH: Record<Algorithm, number> = { sha256: 64, sha512: 128 };

function isAlgorithm(s: string): s is Algorithm {
  return s === 'sha256' || s === 'sha512';
}

/** Why `s` is not a digest, or undefined when it is one. */
function digestProblem(s: string): string | undefined {
  const colon = s.indexOf(':');
  if (colon < 0) return 'missing algorithm (expected "sha256:<hex>")';
  const algorithm = s.slice(0, colon);
  const hex = s.slice(colon + 1);
  if (!isAlgorithm(algorithm)) return `unsupported algorithm ${quote(algorithm)} (expected sha256 or sha512)`;
  if (!/^[0-9a-fA-F]*$/.test(hex)) return 'encoded part must be hexadecimal';
  if (/[A-F]/.test(hex)) return 'hex must be lowercase';
  const want = HEX_LENGTH[algorithm];
  if (hex.length !== want) return `${algorithm} needs ${want} hex characters, got ${hex.length}`;
  return undefined;
}

export function parseDigest(s: string): { algorithm: Algorithm; hex: string } {
  if (typeof s !== 'string')
    throw new InvalidArgument(`invalid digest: expected a string, got ${jsonType(s)}`);
  const problem = digestProblem(s);
  if (problem !== undefined) throw new InvalidArgument(`invalid digest ${quote(s)}: ${problem}`);
  const colon = s.indexOf(':');
  return { algorithm: s.slice(0, colon) as Algorithm, hex: s.slice(colon + 1) };
}

export function isDigest(s: string): boolean {
  return typeof s === 'string' && digestProblem(s) === undefined;
}

/** A JSON field that must hold a digest: "layers[2].digest: invalid digest `sha256:zz`: …". */
export function asDigest(value: unknown, where: string): Digest {
  if (typeof value !== 'string') fail(where, `expected a digest string, got ${jsonType(value)}`);
  const problem = digestProblem(value);
  if (problem !== undefined) fail(where, `invalid digest ${quote(value)}: ${problem}`);
  return value;
}

export function digestOf(data: Buffer | string, algorithm: Algorithm = 'sha256'): Digest {
  if (!isAlgorithm(algorithm))
    throw new InvalidArgument(`compute digest: unsupported algorithm ${quote(algorithm)}`);
  return `${algorithm}:${createHash(algorithm).update(data).digest('hex')}`;
}

/** Incremental hasher: update(chunk), digest() -> Digest, bytes (count so far). */
export interface Digester {
  update(chunk: Buffer): void;
  digest(): Digest;
  readonly bytes: number;
  readonly algorithm: Algorithm;
}

class StreamDigester implements Digester {
  readonly algorithm: Algorithm;
  #hash: Hash;
  #bytes = 0;
  #result: Digest | undefined;

  constructor(algorithm: Algorithm) {
    this.algorithm = algorithm;
    this.#hash = createHash(algorithm);
  }

  get bytes(): number {
    return this.#bytes;
  }

  update(chunk: Buffer): void {
    if (this.#result !== undefined) {
      throw new FailedPrecondition(`update digester: already finished at ${this.#result}`);
    }
    this.#hash.update(chunk);
    this.#bytes += chunk.length;
  }

  /** Finishes the hash; later calls return the same digest (node's Hash can finish only once). */
  digest(): Digest {
    this.#result ??= `${this.algorithm}:${this.#hash.digest('hex')}`;
    return this.#result;
  }
}

export function createDigester(algorithm: Algorithm = 'sha256'): Digester {
  if (!isAlgorithm(algorithm))
    throw new InvalidArgument(`create digester: unsupported algorithm ${quote(algorithm)}`);
  return new StreamDigester(algorithm);
}

/** The first 12 hex characters, as `docker images` shows an ID. */
export function shortId(d: Digest): string {
  return parseDigest(d).hex.slice(0, 12);
}
