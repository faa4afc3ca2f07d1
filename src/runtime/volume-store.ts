/** Named volumes: a row each and their data in <root>/volumes/<name>/_data. */
import fs from 'node:fs';
import path from 'node:path';
import type { Database as DB } from 'better-sqlite3';
import { AlreadyExists, FailedPrecondition, InvalidArgument, NotFound } from '../util/errors.js';
import { volumeDataDir } from './volumes.js';

export interface VolumeInfo {
  name: string;
  created: string;
  mountpoint: string;
  usedBy: string[];
  labels: Record<string, string>;
}

const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

export class Volumes {
  constructor(
    private readonly db: DB,
    private readonly root: string,
  ) {}

  create(name: string, options: { ifMissing?: boolean; labels?: Record<string, string> } = {}): VolumeInfo {
    if (!NAME.test(name))
      throw new InvalidArgument(
        `create volume \`${name}\`: invalid name, only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`,
      );
    const existing = this.db.prepare('SELECT 1 FROM volumes WHERE name = ?').get(name);
    if (existing && !options.ifMissing)
      throw new AlreadyExists(`create volume \`${name}\`: already exists`, { code: 'VOLUME_EXISTS' });
    fs.mkdirSync(volumeDataDir(this.root, name), { recursive: true });
    this.db
      .prepare('INSERT OR IGNORE INTO volumes (name, created, labels) VALUES (?, ?, ?)')
      .run(name, new Date().toISOString(), JSON.stringify(options.labels ?? {}));
    return this.inspect(name);
  }

  inspect(name: string): VolumeInfo {
    const row = this.db.prepare('SELECT * FROM volumes WHERE name = ?').get(name) as
      | { name: string; created: string; labels: string }
      | undefined;
    if (!row) throw new NotFound(`find volume \`${name}\`: no such volume`, { code: 'VOLUME_NOT_FOUND' });
    return {
      name: row.name,
      created: row.created,
      labels: JSON.parse(row.labels) as Record<string, string>,
      mountpoint: volumeDataDir(this.root, name),
      usedBy: this.usedBy(name),
    };
  }

  list(): VolumeInfo[] {
    const rows = this.db.prepare('SELECT name FROM volumes ORDER BY name').all() as { name: string }[];
    return rows.map((r) => this.inspect(r.name));
  }

  remove(name: string, options: { force?: boolean } = {}): void {
    const info = this.inspect(name);
    if (info.usedBy.length > 0 && !options.force) {
      throw new FailedPrecondition(
        `remove volume \`${name}\`: in use by container ${info.usedBy.join(', ')}`,
        { code: 'VOLUME_IN_USE' },
      );
    }
    this.db.prepare('DELETE FROM volumes WHERE name = ?').run(name);
    fs.rmSync(path.dirname(info.mountpoint), { recursive: true, force: true });
  }

  /** Containers whose options name this volume (`-v name:/path`). */
  private usedBy(name: string): string[] {
    const rows = this.db.prepare('SELECT name, spec FROM containers').all() as {
      name: string;
      spec: string;
    }[];
    return rows
      .filter((r) =>
        ((JSON.parse(r.spec) as { volumes?: string[] }).volumes ?? []).some((v) => v.split(':')[0] === name),
      )
      .map((r) => r.name);
  }
}
