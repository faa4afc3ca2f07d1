/** Services and their numbered releases (schema in store/database.ts, migrations 5 and 11). */
import type { Database as DB } from 'better-sqlite3';
import { InvalidArgument, NotFound } from '../util/errors.js';

/** What a release runs: enough to start its containers again from nothing. */
export interface ServiceSpec {
  image: string;
  replicas: number;
  /** HAProxy frontend `bind:public` → container port; none for a service without traffic (a database) */
  port?: { bind: string; public: number; container: number };
  /** HTTP path that answers 200 when a replica is ready */
  health?: string;
  healthTimeoutMs: number;
  drainMs: number;
  env: string[];
  network: string;
  command?: string[];
  volumes: string[];
  // What a compose file can say besides; absent in a release made before compose files were
  // read whole, and in one from the command line.
  entrypoint?: string[];
  /** the compose project the service belongs to, for `skiff down` */
  project?: string;
  /** more names on `network` than the service's own */
  aliases?: string[];
  /** user networks joined besides `network`, each with its own aliases */
  extraNetworks?: { name: string; aliases: string[] }[];
  /** host ports published straight to each replica (`-p` syntax), not through HAProxy */
  publish?: string[];
  /** ports the service says it listens on, as Compose's `expose` (documentation only) */
  expose?: string[];
  tmpfs?: string[];
  user?: string;
  workdir?: string;
  labels?: Record<string, string>;
  /** restart policy of the replicas (default unless-stopped) */
  restart?: string;
  stopSignal?: string;
  /** seconds between the stop signal and SIGKILL */
  stopGraceSeconds?: number;
  /** the replicas' health check (the image config's `Test` form), the readiness gate */
  healthcheck?: {
    test: string[];
    intervalMs?: number;
    timeoutMs?: number;
    retries?: number;
    startPeriodMs?: number;
  };
}

/** `warm`: switched away from but still running, drained, until `warmUntil` (a rollback target that needs no start). */
export type ReleaseStatus = 'deploying' | 'live' | 'warm' | 'stopped' | 'failed' | 'retired';

export interface Release {
  service: string;
  number: number;
  imageId: string;
  imageName: string;
  spec: ServiceSpec;
  containers: string[];
  status: ReleaseStatus;
  created: string;
  author: string;
  message: string;
  /** ISO time the warm window ends (status `warm`), else null */
  warmUntil: string | null;
}

interface ReleaseRow {
  service: string;
  number: number;
  image_id: string;
  image_name: string;
  spec: string;
  containers: string;
  status: ReleaseStatus;
  created: string;
  author: string;
  message: string;
  warm_until: string | null;
}

const SERVICE_NAME = /^[a-z0-9][a-z0-9_-]{0,40}$/;

export function checkServiceName(name: string): void {
  if (!SERVICE_NAME.test(name)) {
    throw new InvalidArgument(
      `service \`${name}\`: invalid name (lower-case letters, digits, - and _, at most 41, starting with a letter or digit)`,
    );
  }
}

export class Releases {
  constructor(private readonly db: DB) {}

  services(): { name: string; live: number | null; created: string }[] {
    return this.db.prepare('SELECT name, live, created FROM services ORDER BY name').all() as {
      name: string;
      live: number | null;
      created: string;
    }[];
  }

  live(service: string): Release | undefined {
    const row = this.db.prepare('SELECT live FROM services WHERE name = ?').get(service) as
      | { live: number | null }
      | undefined;
    return row?.live == null ? undefined : this.get(service, row.live);
  }

  get(service: string, number: number): Release | undefined {
    const row = this.db
      .prepare('SELECT * FROM releases WHERE service = ? AND number = ?')
      .get(service, number) as ReleaseRow | undefined;
    return row && toRelease(row);
  }

  find(service: string, number: number): Release {
    const r = this.get(service, number);
    if (!r) throw new NotFound(`find release \`${service}\` ${number}: no such release`);
    return r;
  }

  history(service: string): Release[] {
    const rows = this.db
      .prepare('SELECT * FROM releases WHERE service = ? ORDER BY number DESC')
      .all(service) as ReleaseRow[];
    if (rows.length === 0 && !this.exists(service)) {
      throw new NotFound(`find service \`${service}\`: no such service`);
    }
    return rows.map(toRelease);
  }

  exists(service: string): boolean {
    return this.db.prepare('SELECT 1 FROM services WHERE name = ?').get(service) !== undefined;
  }

  /** A new release, numbered after the last one, in state `deploying`. */
  begin(r: Omit<Release, 'number' | 'status' | 'containers' | 'warmUntil'>): Release {
    return this.db.transaction(() => {
      this.db
        .prepare('INSERT OR IGNORE INTO services (name, live, created) VALUES (?, NULL, ?)')
        .run(r.service, r.created);
      const last = this.db
        .prepare('SELECT MAX(number) AS n FROM releases WHERE service = ?')
        .get(r.service) as { n: number | null };
      const number = (last.n ?? 0) + 1;
      this.db
        .prepare(
          `INSERT INTO releases (service, number, image_id, image_name, spec, containers, status, created, author, message)
           VALUES (?, ?, ?, ?, ?, '[]', 'deploying', ?, ?, ?)`,
        )
        .run(
          r.service,
          number,
          r.imageId,
          r.imageName,
          JSON.stringify(r.spec),
          r.created,
          r.author,
          r.message,
        );
      return this.find(r.service, number);
    })();
  }

  update(
    service: string,
    number: number,
    fields: { status?: ReleaseStatus; containers?: string[]; message?: string; warmUntil?: string | null },
  ): void {
    const current = this.find(service, number);
    const status = fields.status ?? current.status;
    this.db
      .prepare(
        'UPDATE releases SET status = ?, containers = ?, message = ?, warm_until = ? WHERE service = ? AND number = ?',
      )
      .run(
        status,
        JSON.stringify(fields.containers ?? current.containers),
        fields.message ?? current.message,
        // Only a warm release has a window: any other status clears it.
        status === 'warm' ? (fields.warmUntil ?? current.warmUntil) : null,
        service,
        number,
      );
  }

  /**
   * The switch of the live pointer, with the statuses of both releases, in one transaction.
   * With `warmUntil`, the release switched away from stays warm until then instead of stopped.
   */
  switchLive(service: string, to: number, from: number | undefined, o: { warmUntil?: string } = {}): void {
    this.db.transaction(() => {
      if (from !== undefined && from !== to) {
        this.update(
          service,
          from,
          o.warmUntil ? { status: 'warm', warmUntil: o.warmUntil } : { status: 'stopped' },
        );
      }
      this.update(service, to, { status: 'live' });
      this.db.prepare('UPDATE services SET live = ? WHERE name = ?').run(to, service);
    })();
  }

  /** Warm releases (of every service) whose window ended at `now` or before. */
  warmEnded(now: Date): Release[] {
    const rows = this.db
      .prepare("SELECT * FROM releases WHERE status = 'warm' AND warm_until <= ? ORDER BY service, number")
      .all(now.toISOString()) as ReleaseRow[];
    return rows.map(toRelease);
  }

  removeService(service: string): void {
    this.db.prepare('DELETE FROM services WHERE name = ?').run(service);
  }
}

function toRelease(row: ReleaseRow): Release {
  return {
    service: row.service,
    number: row.number,
    imageId: row.image_id,
    imageName: row.image_name,
    spec: JSON.parse(row.spec) as ServiceSpec,
    containers: JSON.parse(row.containers) as string[],
    status: row.status,
    created: row.created,
    author: row.author,
    message: row.message,
    warmUntil: row.warm_until ?? null,
  };
}
