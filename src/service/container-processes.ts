/**
 * What clients ask of a container beside its lifecycle: `top` (its processes, columns split
 * as ps printed them), `stats` (its resource use in Docker's shape), `resize` (its tty) and
 * `rename` (compose renames the old container before it makes the new one).
 *
 * Stats: `name` starts with "/" (the CLI strips the first character). With `stream=0` two
 * readings half a second apart are taken, so `precpu_stats` is filled and a CPU percentage can
 * be made from one answer, as dockerd does; `one-shot=1` skips the second. With `stream=1`
 * (the default) one object per second follows until the client leaves or the container stops.
 */
import type { ContainerStats, Engine } from '../engine.js';
import { InvalidArgument, NotFound } from '../engine.js';
import { windowSize } from './exec.js';
import { sendEmpty, sendJson } from './respond.js';
import { bool, type Context, type Router } from './router.js';

/** dockerd's "no reading" time, which clients print as a zero time. */
const ZERO_TIME = '0001-01-01T00:00:00Z';

export function containerProcessRoutes(router: Router, engine: Engine): void {
  router
    .add('GET', '/containers/{id}/top', async (ctx) => {
      const table = await engine.top(ctx.params['id']!, { psArgs: ctx.query.get('ps_args') ?? undefined });
      sendJson(ctx, 200, { Titles: table.titles, Processes: table.processes });
    })
    .add('GET', '/containers/{id}/stats', (ctx) => stats(engine, ctx))
    .add('POST', '/containers/{id}/resize', (ctx) => {
      const { rows, cols } = windowSize(ctx.query);
      engine.resizeContainer(ctx.params['id']!, rows, cols);
      sendEmpty(ctx, 200);
    })
    .add('POST', '/containers/{id}/rename', (ctx) => {
      const name = (ctx.query.get('name') ?? '').replace(/^\//, '');
      if (name === '') throw new InvalidArgument('rename: a new name is required (`name`)');
      engine.renameContainer(ctx.params['id']!, name);
      sendEmpty(ctx, 204);
    });
}

async function stats(engine: Engine, ctx: Context): Promise<void> {
  const row = engine.container(ctx.params['id']!);
  const stream = bool(ctx.query, 'stream', true);
  const pairs = !stream && !bool(ctx.query, 'one-shot');
  const res = ctx.res!;
  res.writeHead(200, { 'Content-Type': 'application/json' });
  const abort = new AbortController();
  res.on('close', () => abort.abort());
  const who = { id: row.id, name: row.name };
  let previous: ContainerStats | undefined;
  let sent = false;
  try {
    for await (const reading of engine.stats(row.id, {
      interval: stream ? 1000 : 500,
      signal: abort.signal,
    })) {
      if (pairs && !previous) {
        previous = reading;
        continue;
      }
      res.write(`${JSON.stringify(dockerStats(who, reading, previous))}\n`);
      sent = true;
      if (!stream) break;
      previous = reading;
    }
  } catch (err) {
    // Removed while being read: the answer ends as a stop's does.
    if (!(err instanceof NotFound)) throw err;
  }
  // A container that is not running gets dockerd's empty reading.
  if (!sent && !abort.signal.aborted)
    res.write(`${JSON.stringify(dockerStats(who, undefined, undefined))}\n`);
  res.end();
}

function cpuStats(s: ContainerStats | undefined): Record<string, unknown> {
  return {
    cpu_usage: {
      total_usage: s?.cpu.total ?? 0,
      ...(s?.cpu.perCpu ? { percpu_usage: s.cpu.perCpu } : {}),
      usage_in_kernelmode: s?.cpu.system ?? 0,
      usage_in_usermode: s?.cpu.user ?? 0,
    },
    system_cpu_usage: s?.cpu.host ?? 0,
    online_cpus: s?.cpu.onlineCpus ?? 0,
    throttling_data: { periods: 0, throttled_periods: 0, throttled_time: 0 },
  };
}

/** One reading, with the one before it, in the shape of dockerd's `GET /containers/{id}/stats`. */
export function dockerStats(
  who: { id: string; name: string },
  s: ContainerStats | undefined,
  previous: ContainerStats | undefined,
): Record<string, unknown> {
  const blkio = (s?.blkio ?? []).map((b) => ({ major: b.major, minor: b.minor, op: b.op, value: b.value }));
  const out: Record<string, unknown> = {
    read: s?.read ?? ZERO_TIME,
    preread: previous?.read ?? ZERO_TIME,
    pids_stats: s ? { current: s.pids.current, ...(s.pids.limit ? { limit: s.pids.limit } : {}) } : {},
    blkio_stats: {
      io_service_bytes_recursive: s ? blkio : null,
      io_serviced_recursive: null,
      io_queue_recursive: null,
      io_service_time_recursive: null,
      io_wait_time_recursive: null,
      io_merged_recursive: null,
      io_time_recursive: null,
      sectors_recursive: null,
    },
    num_procs: 0,
    storage_stats: {},
    cpu_stats: cpuStats(s),
    precpu_stats: cpuStats(previous),
    memory_stats: s ? { usage: s.memory.usage, stats: s.memory.stats, limit: s.memory.limit } : {},
    name: `/${who.name}`,
    id: who.id,
  };
  if (s?.networks) {
    out['networks'] = Object.fromEntries(
      Object.entries(s.networks).map(([name, n]) => [
        name,
        {
          rx_bytes: n.rxBytes,
          rx_packets: n.rxPackets,
          rx_errors: n.rxErrors,
          rx_dropped: n.rxDropped,
          tx_bytes: n.txBytes,
          tx_packets: n.txPackets,
          tx_errors: n.txErrors,
          tx_dropped: n.txDropped,
        },
      ]),
    );
  }
  return out;
}
