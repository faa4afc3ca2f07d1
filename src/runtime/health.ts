/**
 * Health checks, as Docker defines them: a command run in the container every interval; after
 * `retries` failures in a row the container is unhealthy, one success makes it healthy again,
 * and failures inside the start period do not count. The checks are run by the per-host
 * supervisor (supervisor.ts), never by a process per container.
 */
import { spawn } from 'node:child_process';
import type { ContainerConfig } from '../oci/config.js';
import { parseDuration } from '../util/duration.js';
import type { CreateOptions } from './records.js';

export interface HealthSpec {
  /** argv to exec in the container. */
  command: string[];
  intervalMs: number;
  timeoutMs: number;
  retries: number;
  startPeriodMs: number;
}

export type HealthStatus = 'starting' | 'healthy' | 'unhealthy';

export interface HealthState {
  status: HealthStatus;
  failingStreak: number;
  /** When the last check ended (ms since epoch); the next is due an interval later. */
  lastCheck: number;
  log: { start: string; end: string; exitCode: number; output: string }[];
}

const NS_PER_MS = 1_000_000;

/** The check a container gets: its own flags over the image's HEALTHCHECK, Docker's defaults. */
export function healthSpec(options: CreateOptions, image: ContainerConfig): HealthSpec | undefined {
  if (options.noHealthcheck || options.healthCmd === 'NONE') return undefined;
  const imageCheck = image.Healthcheck;
  let command: string[] | undefined;
  const test = options.healthTest ?? imageCheck?.Test;
  if (options.healthCmd !== undefined) command = ['/bin/sh', '-c', options.healthCmd];
  else if (test && test.length > 0) {
    const [kind, ...rest] = test;
    if (kind === 'NONE') return undefined;
    command = kind === 'CMD-SHELL' ? ['/bin/sh', '-c', rest.join(' ')] : kind === 'CMD' ? rest : undefined;
  }
  if (!command || command.length === 0) return undefined;
  const fromImage = (ns: number | undefined, fallback: number) => (ns && ns > 0 ? ns / NS_PER_MS : fallback);
  return {
    command,
    intervalMs: options.healthInterval
      ? parseDuration(options.healthInterval, 'health-interval')
      : fromImage(imageCheck?.Interval, 30_000),
    timeoutMs: options.healthTimeout
      ? parseDuration(options.healthTimeout, 'health-timeout')
      : fromImage(imageCheck?.Timeout, 30_000),
    retries:
      options.healthRetries ?? (imageCheck?.Retries && imageCheck.Retries > 0 ? imageCheck.Retries : 3),
    startPeriodMs: options.healthStartPeriod
      ? parseDuration(options.healthStartPeriod, 'health-start-period')
      : fromImage(imageCheck?.StartPeriod, 0),
  };
}

export function initialHealth(): HealthState {
  return { status: 'starting', failingStreak: 0, lastCheck: 0, log: [] };
}

/** Runs one check with `runtime exec`, killing it after the timeout (exit code -1 then). */
export function runCheck(
  runtimePath: string,
  id: string,
  spec: HealthSpec,
): Promise<{ exitCode: number; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(runtimePath, ['exec', id, ...spec.command], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const keep = (chunk: Buffer) => {
      if (output.length < 4096) output += chunk.toString('utf8');
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const timer = setTimeout(() => {
      output += `\nhealth check timed out after ${spec.timeoutMs} ms`;
      child.kill('SIGKILL');
    }, spec.timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      resolve({ exitCode: -1, output: err.message });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ exitCode: code ?? -1, output: output.slice(0, 4096) });
    });
  });
}

/** The state after one check ending now. */
export function nextHealth(
  state: HealthState,
  spec: HealthSpec,
  result: { exitCode: number; output: string; start: Date },
  startedAt: number,
): HealthState {
  const now = Date.now();
  const entry = {
    start: result.start.toISOString(),
    end: new Date(now).toISOString(),
    exitCode: result.exitCode,
    output: result.output,
  };
  const log = [...state.log, entry].slice(-5);
  if (result.exitCode === 0) return { status: 'healthy', failingStreak: 0, lastCheck: now, log };
  const inStartPeriod = now - startedAt < spec.startPeriodMs;
  if (inStartPeriod) return { ...state, lastCheck: now, log };
  const failingStreak = state.failingStreak + 1;
  return {
    status: failingStreak >= spec.retries ? 'unhealthy' : state.status,
    failingStreak,
    lastCheck: now,
    log,
  };
}
