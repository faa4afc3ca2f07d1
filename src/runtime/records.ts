/** Container rows (schema in store/database.ts, migration 2) and their options. */
import { randomBytes } from 'node:crypto';
import type { Database as DB } from 'better-sqlite3';
import type { Digest } from '../oci/digest.js';
import { AlreadyExists, InvalidArgument, NotFound } from '../util/errors.js';

export type ContainerState = 'created' | 'running' | 'exited';

/** What `run`/`create` was asked for: enough to start the container again. */
export interface CreateOptions {
  image: string;
  name?: string;
  command?: string[];
  entrypoint?: string[];
  env?: string[];
  workdir?: string;
  user?: string;
  tty?: boolean;
  interactive?: boolean;
  hostname?: string;
  network?: string;
  /** more names the container answers to on a user network (a service's name) */
  networkAliases?: string[];
  /** user networks joined besides `network` (eth1, eth2, …), each with its own aliases (and address, when asked) */
  extraNetworks?: { name: string; aliases?: string[]; ip?: string }[];
  publish?: string[];
  volumes?: string[];
  tmpfs?: string[];
  readOnly?: boolean;
  privileged?: boolean;
  capAdd?: string[];
  capDrop?: string[];
  memory?: string;
  cpus?: string;
  pidsLimit?: number;
  ulimits?: string[];
  restart?: string;
  rm?: boolean;
  runtime?: string;
  stopSignal?: string;
  stopTimeout?: number;
  labels?: Record<string, string>;
  /** --storage-opt: only `size` ("10g"), the writable layer's limit; needs XFS with project quotas. */
  storageOpt?: Record<string, string>;
  /** --health-cmd (shell form); `NONE` or --no-healthcheck turns the image's check off. */
  healthCmd?: string;
  /** A check in the image config's form (`CMD` argv, `CMD-SHELL` text, `NONE`), as Compose gives it; healthCmd wins. */
  healthTest?: string[];
  healthInterval?: string;
  healthTimeout?: string;
  healthRetries?: number;
  healthStartPeriod?: string;
  noHealthcheck?: boolean;
}

export interface ContainerRow {
  id: string;
  name: string;
  image_id: Digest;
  image_name: string;
  created: string;
  spec: string;
  runtime: string;
  state: ContainerState;
  pid: number | null;
  pid_start: number | null;
  conmon_pid: number | null;
  conmon_start: number | null;
  exit_code: number | null;
  started: string | null;
  finished: string | null;
  restart_count: number;
  health: string | null;
}

export function newContainerId(): string {
  return randomBytes(32).toString('hex');
}

const ADJECTIVES = [
  'brave',
  'calm',
  'eager',
  'fond',
  'keen',
  'lucid',
  'merry',
  'nimble',
  'proud',
  'quiet',
  'swift',
  'wise',
];
const NOUNS = [
  'otter',
  'heron',
  'lynx',
  'finch',
  'badger',
  'marten',
  'plover',
  'ibis',
  'vole',
  'wren',
  'stoat',
  'tern',
];

export function randomName(): string {
  const pick = (list: string[]) => list[randomBytes(1)[0]! % list.length]!;
  return `${pick(ADJECTIVES)}_${pick(NOUNS)}_${randomBytes(2).toString('hex')}`;
}

const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

export function checkName(name: string): void {
  if (!NAME.test(name) || name.length > 128) {
    throw new InvalidArgument(
      `invalid container name \`${name}\`: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`,
    );
  }
}

export class ContainerRecords {
  constructor(private readonly db: DB) {}

  insert(
    row: Omit<
      ContainerRow,
      | 'pid'
      | 'pid_start'
      | 'conmon_pid'
      | 'conmon_start'
      | 'exit_code'
      | 'started'
      | 'finished'
      | 'restart_count'
      | 'health'
    >,
  ): void {
    try {
      this.db
        .prepare(
          'INSERT INTO containers (id, name, image_id, image_name, created, spec, runtime, state) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
        )
        .run(row.id, row.name, row.image_id, row.image_name, row.created, row.spec, row.runtime, row.state);
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') {
        const other = this.byName(row.name);
        throw new AlreadyExists(
          `create container \`${row.name}\`: the name is already in use by container ${other?.id.slice(0, 12) ?? ''}; remove it or choose another name`,
          { code: 'NAME_IN_USE' },
        );
      }
      throw err;
    }
  }

  /** A new name for container `id`; AlreadyExists when another container has it. */
  rename(id: string, name: string): void {
    try {
      this.db.prepare('UPDATE containers SET name = ? WHERE id = ?').run(name, id);
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') {
        const other = this.byName(name);
        throw new AlreadyExists(
          `rename container \`${id.slice(0, 12)}\`: the name \`${name}\` is already in use by container ${other?.id.slice(0, 12) ?? ''}`,
          { code: 'NAME_IN_USE' },
        );
      }
      throw err;
    }
  }

  byName(name: string): ContainerRow | undefined {
    return this.db.prepare('SELECT * FROM containers WHERE name = ?').get(name) as ContainerRow | undefined;
  }

  get(id: string): ContainerRow | undefined {
    return this.db.prepare('SELECT * FROM containers WHERE id = ?').get(id) as ContainerRow | undefined;
  }

  /** By name, full ID or unique ID prefix, like Docker. */
  find(input: string): ContainerRow {
    const byName = this.byName(input.replace(/^\//, ''));
    if (byName) return byName;
    if (/^[0-9a-f]{1,64}$/.test(input)) {
      const rows = this.db
        .prepare('SELECT * FROM containers WHERE id LIKE ?')
        .all(`${input}%`) as ContainerRow[];
      if (rows.length > 1)
        throw new InvalidArgument(
          `find container \`${input}\`: ambiguous ID prefix, ${rows.length} containers match`,
        );
      if (rows[0]) return rows[0];
    }
    throw new NotFound(`find container \`${input}\`: no such container`, { code: 'CONTAINER_NOT_FOUND' });
  }

  all(): ContainerRow[] {
    return this.db.prepare('SELECT * FROM containers ORDER BY created DESC').all() as ContainerRow[];
  }

  update(id: string, fields: Partial<ContainerRow>): void {
    const keys = Object.keys(fields);
    if (keys.length === 0) return;
    const sets = keys.map((k) => `${k} = @${k}`).join(', ');
    this.db.prepare(`UPDATE containers SET ${sets} WHERE id = @id`).run({ ...fields, id });
  }

  delete(id: string): void {
    this.db.prepare('DELETE FROM containers WHERE id = ?').run(id);
  }
}
