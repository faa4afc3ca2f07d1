/** The verbs about a running container's processes, and its name: top, stats, rename. */
import type { ContainerStats, Engine } from '../engine.js';
import { binaryScale } from '../util/byte-size.js';
import { humanSize } from '../util/format.js';
import { bool, formatFlag, needArgs, parseArgs } from './args.js';
import { RENAME, STATS, TOP } from './container-flags.js';
import type { Output } from './output.js';
import { table } from './table.js';

/** `skiff rename CONTAINER NEW_NAME`: quiet on success, as docker's. */
export function renameCommand(engine: Engine, argv: string[], _out: Output): number {
  const p = parseArgs(argv, RENAME);
  needArgs(p, RENAME, 2, 2);
  engine.renameContainer(p.positionals[0]!, p.positionals[1]!);
  return 0;
}

/** `skiff top CONTAINER [ps OPTIONS]`: its processes as `ps` (default `-ef`) lists them. */
export async function topCommand(engine: Engine, argv: string[], out: Output): Promise<number> {
  const p = parseArgs(argv, TOP);
  needArgs(p, TOP, 1, Infinity);
  const [name, ...psArgs] = p.positionals as [string, ...string[]];
  const { titles, processes } = await engine.top(name, { psArgs: psArgs.join(' ') });
  out.stdout(table(titles, processes));
  return 0;
}

/**
 * `skiff stats [--no-stream] [CONTAINER...]`: CPU, memory, network and block I/O of running
 * containers (all of them without names), redrawn every second, or once with --no-stream.
 */
export async function statsCommand(engine: Engine, argv: string[], out: Output): Promise<number> {
  const p = parseArgs(argv, STATS);
  needArgs(p, STATS, 0, Infinity);
  const format = formatFlag(p, 'stats', ['table', 'json']);
  const names = p.positionals.length > 0 ? p.positionals : engine.containers().map((c) => c.name);
  const rows = new Map<string, Row>();
  const print = () => {
    const current = names.map((n) => rows.get(n)).filter((r): r is Row => r !== undefined);
    if (format === 'json') {
      out.stdout(current.map((r) => `${JSON.stringify(r)}\n`).join(''));
      return;
    }
    out.stdout(
      table(
        ['CONTAINER ID', 'NAME', 'CPU %', 'MEM USAGE / LIMIT', 'MEM %', 'NET I/O', 'BLOCK I/O', 'PIDS'],
        current.map((r) => [
          r.id.slice(0, 12),
          r.name,
          `${r.cpuPercent.toFixed(2)}%`,
          `${binarySize(r.memoryUsage)} / ${binarySize(r.memoryLimit)}`,
          `${r.memoryPercent.toFixed(2)}%`,
          `${humanSize(r.netRx)} / ${humanSize(r.netTx)}`,
          `${humanSize(r.blockRead)} / ${humanSize(r.blockWrite)}`,
          String(r.pids),
        ]),
      ),
    );
  };
  const once = bool(p, 'no-stream');
  const watch = names.map(async (name) => {
    const container = engine.container(name);
    let previous: ContainerStats | undefined;
    // With --no-stream, two readings half a second apart make the CPU percentage.
    for await (const reading of engine.stats(container.id, { interval: once ? 500 : 1000 })) {
      if (previous || !once) rows.set(name, row(container.id, container.name, reading, previous));
      if (once && previous) return;
      previous = reading;
    }
  });
  if (once) {
    await Promise.all(watch);
    print();
    return 0;
  }
  const timer = setInterval(() => {
    if (process.stdout.isTTY) out.stdout('\x1b[2J\x1b[H');
    print();
  }, 1000);
  try {
    await Promise.all(watch);
  } finally {
    clearInterval(timer);
  }
  return 0;
}

interface Row {
  id: string;
  name: string;
  cpuPercent: number;
  memoryUsage: number;
  memoryLimit: number;
  memoryPercent: number;
  netRx: number;
  netTx: number;
  blockRead: number;
  blockWrite: number;
  pids: number;
}

/** The numbers Docker's CLI prints, from a reading and the one before it. */
function row(id: string, name: string, s: ContainerStats, before: ContainerStats | undefined): Row {
  const cpu = s.cpu.total - (before?.cpu.total ?? 0);
  const host = s.cpu.host - (before?.cpu.host ?? 0);
  // Page cache the kernel would drop first is not counted, as Docker's CLI does.
  const inactive = s.memory.stats['total_inactive_file'] ?? s.memory.stats['inactive_file'] ?? 0;
  const memoryUsage = inactive < s.memory.usage ? s.memory.usage - inactive : s.memory.usage;
  const networks = Object.values(s.networks ?? {});
  const block = (op: string) =>
    s.blkio.filter((b) => b.op.toLowerCase() === op).reduce((sum, b) => sum + b.value, 0);
  return {
    id,
    name,
    cpuPercent: cpu > 0 && host > 0 ? (cpu / host) * s.cpu.onlineCpus * 100 : 0,
    memoryUsage,
    memoryLimit: s.memory.limit,
    memoryPercent: s.memory.limit > 0 ? (memoryUsage / s.memory.limit) * 100 : 0,
    netRx: networks.reduce((sum, n) => sum + n.rxBytes, 0),
    netTx: networks.reduce((sum, n) => sum + n.txBytes, 0),
    blockRead: block('read'),
    blockWrite: block('write'),
    pids: s.pids.current,
  };
}

/** "380KiB", "23.54GiB": binary units, four significant digits, as Docker prints memory. */
function binarySize(bytes: number): string {
  const { value, unit } = binaryScale(bytes);
  return `${Number(value.toPrecision(4))}${unit}`;
}
