/**
 * `top`: a container's processes as `ps` shows them, the way Docker's ContainerTop does
 * (moby daemon/top_unix.go): `ps` with the caller's arguments (`-ef` by default), limited
 * with `-q` to the pids of the container's cgroup (and run again without `-q` when those
 * arguments refuse it), then only the container's rows kept. Columns are split at runs of
 * blanks; whatever lies past the last title is one column, so a command keeps its spaces.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { InvalidArgument } from '../util/errors.js';
import { programPath } from '../util/programs.js';
import { Cgroup } from './cgroup.js';
import type { ContainerRow } from './records.js';

const run = promisify(execFile);

export interface ProcessTable {
  titles: string[];
  processes: string[][];
}

/** Docker's check: `-o` may rename only `pid`, or the PID column could not be found. */
export function checkPsArgs(psArgs: string): void {
  for (const m of psArgs.matchAll(/\s+([^\s]*)=\s*(PID[^\s]*)/g)) {
    if (m[1] !== 'pid') throw new InvalidArgument(`top: specifying \`${m[1]}=${m[2]}\` is not allowed`);
  }
}

/** The rows of `output` whose PID is one of `pids`, columns split; throws without a PID title. */
export function parsePs(output: string, pids: ReadonlySet<number>): ProcessTable {
  const lines = output.split('\n');
  const titles = fields(lines[0] ?? '');
  const pidColumn = titles.indexOf('PID');
  if (pidColumn < 0) throw new InvalidArgument('top: the ps output has no PID column');
  const processes: string[][] = [];
  for (const line of lines.slice(1)) {
    if (line.trim() === '') continue;
    const f = fields(line);
    const pid = Number(f[pidColumn]);
    if (!Number.isInteger(pid) || !pids.has(pid)) continue;
    processes.push(
      f.length > titles.length ? [...f.slice(0, titles.length - 1), f.slice(titles.length - 1).join(' ')] : f,
    );
  }
  return { titles, processes };
}

/** Blank-separated fields, ASCII blanks only (as Docker's fieldsASCII). */
function fields(line: string): string[] {
  return line.split(/[ \t\r\v\f]+/).filter((f) => f !== '');
}

/** `ps psArgs` over `pids`. */
export async function processTable(pids: number[], psArgs = ''): Promise<ProcessTable> {
  const args = psArgs.trim() === '' ? ['-ef'] : psArgs.trim().split(/\s+/);
  checkPsArgs(` ${psArgs}`);
  const ps = programPath('ps');
  let output: string;
  try {
    ({ stdout: output } = await run(ps, [...args, `-q${pids.join(',')}`], { maxBuffer: 64 << 20 }));
  } catch {
    // Some options (f, for one) cannot be combined with -q: all processes, filtered below.
    try {
      ({ stdout: output } = await run(ps, args, { maxBuffer: 64 << 20 }));
    } catch (err) {
      const why = ((err as { stderr?: string }).stderr ?? (err as Error).message).trim();
      throw new InvalidArgument(`top: ps ${args.join(' ')}: ${why}`);
    }
  }
  return parsePs(output, new Set(pids));
}

/** The processes of a running container (its row), as `ps psArgs` shows them. */
export async function containerTop(row: ContainerRow, psArgs?: string): Promise<ProcessTable> {
  const pids = (row.pid ? Cgroup.of(row.pid)?.processes() : undefined) ?? [];
  return processTable(pids, psArgs);
}
