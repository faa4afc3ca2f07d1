/** `skiff events`: the store's event journal, as `docker events` prints it. */
import type { Engine } from '../engine.js';
import { asDockerEvent, type SkiffEvent } from '../engine.js';
import { filterOption, formatFlag, needArgs, parseArgs, str } from './args.js';
import type { Output } from './output.js';
import { EVENTS } from './system-flags.js';

export async function eventsCommand(engine: Engine, argv: string[], out: Output): Promise<number> {
  const p = parseArgs(argv, EVENTS);
  needArgs(p, EVENTS, 0, 0);
  const format = formatFlag(p, 'events', ['text', 'json']);
  const filters = filterOption(p, 'events');
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    for await (const e of engine.events({
      since: str(p, 'since'),
      until: str(p, 'until'),
      filters,
      signal: controller.signal,
    })) {
      out.stdout(format === 'json' ? `${JSON.stringify(asDockerEvent(e))}\n` : `${eventLine(e)}\n`);
    }
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
  return 0;
}

/** `2026-01-02T03:04:05.123456789Z container start 3f2a… (image=busybox, name=web)` */
export function eventLine(e: SkiffEvent): string {
  const seconds = e.timeNano / 1_000_000_000n;
  const nanos = String(e.timeNano % 1_000_000_000n).padStart(9, '0');
  const time = `${new Date(Number(seconds) * 1000).toISOString().slice(0, 19)}.${nanos}Z`;
  const attrs = Object.entries(e.attributes)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([k, v]) => `${k}=${v}`);
  return `${time} ${e.type} ${e.action} ${e.id}${attrs.length > 0 ? ` (${attrs.join(', ')})` : ''}`;
}
