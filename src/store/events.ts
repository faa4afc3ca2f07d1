/**
 * The event journal: what happened in a store (a container created, started, dead; an image
 * pulled, tagged, deleted; a network connected …), written by whichever skiff process caused
 * it and read by any other. skiff has no daemon to hold events in memory, so they are rows
 * in the store's database (table `events`), which every process can append to and follow.
 *
 * Bounded: each append drops what is older than the newest KEEP events, so the journal never
 * grows past a few MB. A reader that falls behind by more than that misses the oldest, as a
 * slow `docker events` client of dockerd does.
 */
import type { Database as DB } from 'better-sqlite3';
import { setTimeout as sleep } from 'node:timers/promises';
import { InvalidArgument } from '../util/errors.js';

/** Events kept; older ones are dropped as new ones come. */
export const KEEP = 10_000;

export type EventType = 'container' | 'image' | 'network' | 'volume' | 'builder' | 'service';

export interface SkiffEvent {
  /** Position in the journal: increases by one per event, never reused. */
  seq: number;
  /** Nanoseconds since the epoch. */
  timeNano: bigint;
  type: EventType;
  /** create, start, die, destroy, pull, tag, untag, delete, connect, health_status: healthy … */
  action: string;
  /** The object's ID (a container ID, an image ID or name, a network name). */
  id: string;
  /** name, image, exitCode, container … as Docker's Actor.Attributes. */
  attributes: Record<string, string>;
}

export interface NewEvent {
  type: EventType;
  action: string;
  id: string;
  attributes?: Record<string, string>;
}

interface Row {
  seq: number;
  time_nano: bigint;
  type: EventType;
  action: string;
  actor_id: string;
  attributes: string;
}

function fromRow(row: Row): SkiffEvent {
  return {
    seq: row.seq,
    timeNano: BigInt(row.time_nano),
    type: row.type,
    action: row.action,
    id: row.actor_id,
    attributes: JSON.parse(row.attributes) as Record<string, string>,
  };
}

/**
 * The wall clock in nanoseconds: the epoch offset taken once, then the monotonic clock, so the
 * events one process records never go back in time (Date.now() alone has only milliseconds).
 */
const EPOCH_OFFSET = BigInt(Date.now()) * 1_000_000n - process.hrtime.bigint();

function nowNano(): bigint {
  return EPOCH_OFFSET + process.hrtime.bigint();
}

export interface ReadOptions {
  /** Only events after this journal position. */
  afterSeq?: number;
  /** Only events at or after this time (ns since the epoch). */
  sinceNano?: bigint;
  /** Only events at or before this time (ns since the epoch). */
  untilNano?: bigint;
  /** Only events this test accepts. */
  filter?: (event: SkiffEvent) => boolean;
}

export interface FollowOptions extends ReadOptions {
  signal?: AbortSignal;
  /** How often the journal is read for new events; default 100 ms. */
  interval?: number;
}

export class EventJournal {
  constructor(private readonly db: DB) {}

  /** Appends one event; best effort for the caller, whose own work has already happened. */
  record(event: NewEvent): SkiffEvent {
    const timeNano = nowNano();
    const attributes = JSON.stringify(event.attributes ?? {});
    const seq = this.db.transaction(() => {
      const { lastInsertRowid } = this.db
        .prepare('INSERT INTO events (time_nano, type, action, actor_id, attributes) VALUES (?, ?, ?, ?, ?)')
        .run(timeNano, event.type, event.action, event.id, attributes);
      this.db.prepare('DELETE FROM events WHERE seq <= ?').run(Number(lastInsertRowid) - KEEP);
      return Number(lastInsertRowid);
    })();
    return {
      seq,
      timeNano,
      type: event.type,
      action: event.action,
      id: event.id,
      attributes: event.attributes ?? {},
    };
  }

  /** The journal's newest position (0 when empty). */
  lastSeq(): number {
    const row = this.db.prepare('SELECT MAX(seq) AS seq FROM events').get() as { seq: number | null };
    return row.seq ?? 0;
  }

  /** The events in the journal that match, oldest first. */
  read(options: ReadOptions = {}): SkiffEvent[] {
    const rows = this.db
      .prepare(`SELECT * FROM events WHERE seq > ? AND time_nano >= ? AND time_nano <= ? ORDER BY seq`)
      .safeIntegers(true)
      .all(options.afterSeq ?? 0, options.sinceNano ?? 0n, options.untilNano ?? 2n ** 62n) as Row[];
    const events = rows.map((r) => fromRow({ ...r, seq: Number(r.seq) }));
    return options.filter ? events.filter(options.filter) : events;
  }

  /**
   * The matching events already in the journal (from `sinceNano`, or none without it), then
   * each new one as any process appends it, until `untilNano` passes or `signal` aborts.
   */
  async *follow(options: FollowOptions = {}): AsyncGenerator<SkiffEvent> {
    let after =
      options.sinceNano === undefined ? (options.afterSeq ?? this.lastSeq()) : (options.afterSeq ?? 0);
    const interval = options.interval ?? 100;
    for (;;) {
      if (options.signal?.aborted) return;
      for (const event of this.read({ afterSeq: after, sinceNano: options.sinceNano })) {
        after = event.seq;
        if (options.untilNano !== undefined && event.timeNano > options.untilNano) return;
        if (!options.filter || options.filter(event)) yield event;
      }
      if (options.untilNano !== undefined && nowNano() > options.untilNano) return;
      try {
        await sleep(interval, undefined, { signal: options.signal });
      } catch {
        return; // aborted
      }
    }
  }
}

/** An event as Docker's API and `docker events --format json` show it. */
export interface DockerEvent {
  status?: string;
  id?: string;
  from?: string;
  Type: EventType;
  Action: string;
  Actor: { ID: string; Attributes: Record<string, string> };
  scope: 'local';
  time: number;
  timeNano: number;
}

export function asDockerEvent(e: SkiffEvent): DockerEvent {
  // The old top-level status/id/from are still read by clients of containers' events.
  const legacy =
    e.type === 'container' ? { status: e.action, id: e.id, from: e.attributes['image'] ?? '' } : {};
  return {
    ...legacy,
    Type: e.type,
    Action: e.action,
    Actor: { ID: e.id, Attributes: e.attributes },
    scope: 'local',
    time: Number(e.timeNano / 1_000_000_000n),
    timeNano: Number(e.timeNano),
  };
}

/**
 * Docker's event filters: `type`, `event` (the action), `container`, `image`, `network`,
 * `volume` (an ID, its prefix, or a name), `label` (`key` or `key=value`). Values of one key
 * are alternatives; different keys must all match.
 */
export function eventFilter(filters: Record<string, string[]>): (e: SkiffEvent) => boolean {
  const tests: ((e: SkiffEvent) => boolean)[] = [];
  for (const [key, values] of Object.entries(filters)) {
    if (values.length === 0) continue;
    const named = (type: EventType) => (e: SkiffEvent) =>
      e.type === type &&
      values.some((v) => e.id === v || (v.length >= 3 && e.id.startsWith(v)) || e.attributes['name'] === v);
    switch (key) {
      case 'type':
        tests.push((e) => values.includes(e.type));
        break;
      case 'event':
        tests.push((e) => values.some((v) => e.action === v || e.action.startsWith(`${v}:`)));
        break;
      case 'container':
      case 'network':
      case 'volume':
        tests.push(named(key));
        break;
      case 'image':
        tests.push(
          (e) =>
            values.includes(e.attributes['image'] ?? '') ||
            (e.type === 'image' && (values.includes(e.id) || values.includes(e.attributes['name'] ?? ''))),
        );
        break;
      case 'label':
        tests.push((e) =>
          values.some((v) => {
            const eq = v.indexOf('=');
            return eq < 0 ? v in e.attributes : e.attributes[v.slice(0, eq)] === v.slice(eq + 1);
          }),
        );
        break;
      case 'scope':
        tests.push(() => values.includes('local'));
        break;
      default:
        throw new InvalidArgument(`filter events: unknown filter \`${key}\``);
    }
  }
  return (e) => tests.every((t) => t(e));
}
