/**
 * Blob upload sessions (distribution-spec "Pushing blobs": POST, PATCH, PUT, GET, DELETE on
 * /blobs/uploads/). A session is a directory uploads/<uuid>/ holding `state.json` (its
 * repository and start time) and `data` (the bytes so far): all on disk, so a restarted server
 * continues a session, and the offset is simply the size of `data`.
 *
 * The running hash is kept in memory while the server lives (node cannot persist a hash
 * state); after a restart, or when the digest algorithm turns out to be sha512, the file is
 * hashed again at the end. The digest is always checked before the bytes become a blob, and a
 * mismatch stores nothing. Bytes are counted against the server's size limits as they arrive
 * (quota.ts); a session that passes one is dropped.
 */
import fs from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { createDigester, parseDigest, type Digest, type Digester } from '../../oci/digest.js';
import { lock, tryLock, type FileLock } from '../../sys/flock.js';
import { tempName, writeFileAtomic } from '../../util/atomic.js';
import { errnoCode } from '../../util/errors.js';
import { RegistryError, digestInvalid, uploadUnknown } from './errors.js';
import { OverQuota, Quotas } from './quota.js';
import { listDir, type RegistryStorage } from './storage.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

interface SessionState {
  name: string;
  started: number;
}

interface Running {
  digester: Digester;
  offset: number;
}

export class UploadSessions {
  readonly #storage: RegistryStorage;
  readonly #quotas: Quotas;
  /** Hashes of sessions this process has been feeding, by uuid. */
  readonly #running = new Map<string, Running>();
  /** One request at a time per session: a PATCH and a PUT never interleave. */
  readonly #queues = new Map<string, Promise<unknown>>();

  constructor(storage: RegistryStorage, quotas = new Quotas(storage)) {
    this.#storage = storage;
    this.#quotas = quotas;
  }

  #dir(uuid: string): string {
    return path.join(this.#storage.paths.uploads, uuid);
  }

  /**
   * Runs `work` after the session's earlier requests, holding a shared flock on its state
   * file so that gc (another process) never removes a session in the middle of a request. A
   * session that vanishes meanwhile (gc, a cancel) is BLOB_UPLOAD_UNKNOWN, not a 500.
   */
  #serial<T>(uuid: string, work: () => Promise<T>): Promise<T> {
    const guarded = async () => {
      if (!UUID.test(uuid)) throw uploadUnknown(uuid);
      let held: FileLock | undefined;
      try {
        if (fs.existsSync(this.#dir(uuid)))
          held = await lock(path.join(this.#dir(uuid), 'state.json'), 'shared');
        return await work();
      } catch (err) {
        if (errnoCode(err) === 'ENOENT') throw uploadUnknown(uuid);
        throw err;
      } finally {
        held?.release();
      }
    };
    const before = this.#queues.get(uuid) ?? Promise.resolve();
    const next = before.then(guarded, guarded);
    const settled = next.catch(() => undefined);
    this.#queues.set(uuid, settled);
    void settled.then(() => {
      if (this.#queues.get(uuid) === settled) this.#queues.delete(uuid);
    });
    return next;
  }

  create(name: string): string {
    const uuid = randomUUID();
    const dir = this.#dir(uuid);
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'data'), '');
    const state: SessionState = { name, started: Date.now() };
    writeFileAtomic(path.join(dir, 'state.json'), JSON.stringify(state));
    this.#running.set(uuid, { digester: createDigester('sha256'), offset: 0 });
    return uuid;
  }

  /** The session's offset (bytes received); BLOB_UPLOAD_UNKNOWN when it is not `name`'s. */
  offset(name: string, uuid: string): number {
    if (!UUID.test(uuid)) throw uploadUnknown(uuid);
    let state: SessionState;
    try {
      state = JSON.parse(fs.readFileSync(path.join(this.#dir(uuid), 'state.json'), 'utf8')) as SessionState;
      if (state.name !== name) throw uploadUnknown(uuid);
      return fs.statSync(path.join(this.#dir(uuid), 'data')).size;
    } catch (err) {
      // Gone, or half-removed by gc as we looked (an empty state file): unknown either way.
      if (errnoCode(err) === 'ENOENT' || err instanceof SyntaxError) throw uploadUnknown(uuid);
      throw err;
    }
  }

  /**
   * Appends a chunk. `start`, from Content-Range, must equal the offset (else 416, "Pushing
   * a blob in chunks"); without it the body is appended wherever the session is (the
   * streamed PATCH docker and skopeo send).
   */
  append(name: string, uuid: string, source: AsyncIterable<Buffer>, start?: number): Promise<number> {
    return this.#serial(uuid, async () => {
      const offset = this.#offsetAt(name, uuid, start, { 'Docker-Upload-UUID': uuid });
      return this.#dropOverQuota(uuid, () => this.#write(name, uuid, source, offset));
    });
  }

  /** The session's offset, which a chunk's `start` must equal ("Pushing a blob in chunks": 416). */
  #offsetAt(
    name: string,
    uuid: string,
    start: number | undefined,
    headers: Record<string, string> = {},
  ): number {
    const offset = this.offset(name, uuid);
    if (start !== undefined && start !== offset) {
      throw new RegistryError(
        416,
        'BLOB_UPLOAD_INVALID',
        `write upload \`${uuid}\`: chunk starts at ${start}, the session is at ${offset}`,
        { headers: { Range: rangeHeader(offset), ...headers } },
      );
    }
    return offset;
  }

  async #write(name: string, uuid: string, source: AsyncIterable<Buffer>, offset: number): Promise<number> {
    let running = this.#running.get(uuid);
    if (running !== undefined && running.offset !== offset) running = undefined;
    this.#running.delete(uuid);
    const check = this.#quotas.enabled ? this.#quotas.uploadCheck(name) : undefined;
    const handle = await fs.promises.open(path.join(this.#dir(uuid), 'data'), 'a');
    let written = offset;
    try {
      for await (const chunk of source) {
        check?.(written + chunk.length);
        await handle.write(chunk);
        running?.digester.update(chunk);
        written += chunk.length;
      }
    } catch (err) {
      // Over a size limit the session could never finish: it is dropped (#dropOverQuota),
      // its running hash with it.
      if (err instanceof OverQuota) running = undefined;
      throw err;
    } finally {
      await handle.close();
      if (running !== undefined) {
        running.offset = written;
        this.#running.set(uuid, running);
      }
    }
    return written;
  }

  /** `work` on session `uuid`; a size limit it passes drops the session. */
  async #dropOverQuota<T>(uuid: string, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (err) {
      if (err instanceof OverQuota) this.#drop(uuid);
      throw err;
    }
  }

  /**
   * Ends a session ("Closing the upload"): appends the last chunk, checks the digest, moves
   * the bytes into blobs/ and links the blob to the repository. The session is gone after,
   * whether the digest matched or not.
   */
  finish(
    name: string,
    uuid: string,
    digest: Digest,
    source: AsyncIterable<Buffer>,
    start?: number,
  ): Promise<number> {
    return this.#serial(uuid, async () => {
      const offset = this.#offsetAt(name, uuid, start);
      const size = await this.#dropOverQuota(uuid, () => this.#write(name, uuid, source, offset));
      const data = path.join(this.#dir(uuid), 'data');
      try {
        const algorithm = parseDigest(digest).algorithm;
        let running = this.#running.get(uuid);
        if (running === undefined || running.digester.algorithm !== algorithm || running.offset !== size) {
          running = { digester: createDigester(algorithm), offset: 0 };
          for await (const chunk of fs.createReadStream(data, { highWaterMark: 1 << 20 }))
            running.digester.update(chunk as Buffer);
        }
        const actual = running.digester.digest();
        if (actual !== digest)
          throw digestInvalid(digest, `the uploaded ${size} bytes have digest ${actual}`);
        const fd = fs.openSync(data, 'r');
        try {
          fs.fsyncSync(fd);
        } finally {
          fs.closeSync(fd);
        }
        await this.#quotas.link(name, digest, size, () =>
          this.#storage.commitBlob(digest, { file: data, linkTo: name }),
        );
        return size;
      } finally {
        this.#drop(uuid);
      }
    });
  }

  cancel(name: string, uuid: string): Promise<void> {
    return this.#serial(uuid, () => {
      this.offset(name, uuid);
      this.#drop(uuid);
      return Promise.resolve();
    });
  }

  #drop(uuid: string): void {
    this.#running.delete(uuid);
    fs.rmSync(this.#dir(uuid), { recursive: true, force: true });
  }

  /** Removes sessions idle for longer than `maxIdleMs`; returns how many. */
  sweep(maxIdleMs: number): number {
    return sweepUploads(
      this.#storage.paths.uploads,
      Date.now() - maxIdleMs,
      (uuid) => !this.#queues.has(uuid),
    );
  }
}

/** Sessions whose last write is before `cutoff` (ms since epoch) are removed. Used by gc too. */
export function sweepUploads(
  dir: string,
  cutoff: number,
  may: (uuid: string) => boolean = () => true,
  dryRun = false,
): number {
  let removed = 0;
  const idleSince = (uuid: string) =>
    (
      fs.statSync(path.join(dir, uuid, 'data'), { throwIfNoEntry: false }) ??
      fs.statSync(path.join(dir, uuid), { throwIfNoEntry: false })
    )?.mtimeMs ?? 0;
  for (const uuid of listDir(dir)) {
    if (!may(uuid) || idleSince(uuid) >= cutoff) continue;
    if (dryRun) {
      removed++;
      continue;
    }
    // A request working on the session holds its state file shared: skip it, it is not idle.
    let held: FileLock | undefined;
    try {
      held = tryLock(path.join(dir, uuid, 'state.json'), 'exclusive');
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw err;
    }
    try {
      if (held === undefined && fs.existsSync(path.join(dir, uuid, 'state.json'))) continue;
      if (idleSince(uuid) >= cutoff) continue;
      fs.rmSync(path.join(dir, uuid), { recursive: true, force: true });
      removed++;
    } finally {
      held?.release();
    }
  }
  return removed;
}

/** distribution-spec: `Range: 0-<offset-1>`, and `0-0` for an empty session as Docker's registry says. */
export function rangeHeader(offset: number): string {
  return `0-${Math.max(offset - 1, 0)}`;
}

/** A monolithic upload ("POST then PUT" in one request, `?digest=`): verified before it is a blob. */
export async function ingestMonolithic(
  storage: RegistryStorage,
  quotas: Quotas,
  name: string,
  digest: Digest,
  source: AsyncIterable<Buffer>,
): Promise<number> {
  const digester = createDigester(parseDigest(digest).algorithm);
  const check = quotas.enabled ? quotas.uploadCheck(name, digest) : undefined;
  const tmp = tempName(storage.paths.tmp, 'upload-');
  const handle = await fs.promises.open(tmp, 'wx');
  let committed = false;
  try {
    for await (const chunk of source) {
      check?.(digester.bytes + chunk.length);
      digester.update(chunk);
      await handle.write(chunk);
    }
    const actual = digester.digest();
    if (actual !== digest)
      throw digestInvalid(digest, `the uploaded ${digester.bytes} bytes have digest ${actual}`);
    await handle.sync();
    await handle.close();
    committed = await quotas.link(name, digest, digester.bytes, () =>
      storage.commitBlob(digest, { file: tmp, linkTo: name }),
    );
    return digester.bytes;
  } finally {
    if (!committed) {
      await handle.close().catch(() => undefined);
      fs.rmSync(tmp, { force: true });
    }
  }
}
