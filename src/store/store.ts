/**
 * One store root: blobs, layers, metadata and the lock that keeps concurrent skiff processes
 * apart. Writers that only add (import, load, pull) hold the lock shared for their whole run;
 * anything that deletes (rmi, prune) holds it exclusive, so it never removes a layer that a
 * running import has just decided to reuse.
 */
import type { Database as DB } from 'better-sqlite3';
import { lock, type FileLock, type LockMode } from '../sys/flock.js';
import { ContentStore } from './content-store.js';
import { openDatabase } from './database.js';
import { EventJournal } from './events.js';
import { LayerStore } from './layer-store.js';
import { Metadata } from './metadata.js';
import { ensureStoreDirs, storePaths, type StorePaths } from './paths.js';

export class Store {
  readonly content: ContentStore;
  readonly layers: LayerStore;
  readonly meta: Metadata;
  /** What happened in this store, for `skiff events` and the API's /events. */
  readonly events: EventJournal;
  private readonly db: DB;

  private constructor(readonly paths: StorePaths) {
    ensureStoreDirs(paths);
    this.db = openDatabase(paths.db);
    this.content = new ContentStore(paths);
    this.layers = new LayerStore(paths);
    this.meta = new Metadata(this.db);
    this.events = new EventJournal(this.db);
  }

  static open(root: string): Store {
    return new Store(storePaths(root));
  }

  lock(mode: LockMode, options: { signal?: AbortSignal } = {}): Promise<FileLock> {
    return lock(this.paths.lock, mode, options);
  }

  /** Runs `fn` holding the store lock. */
  async locked<T>(
    mode: LockMode,
    fn: () => Promise<T> | T,
    options: { signal?: AbortSignal } = {},
  ): Promise<T> {
    const held = await this.lock(mode, options);
    try {
      return await fn();
    } finally {
      held.release();
    }
  }

  close(): void {
    this.db.close();
  }
}
