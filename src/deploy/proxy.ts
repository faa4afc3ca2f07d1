/**
 * The HAProxy instance a store owns (`<root>/proxy/`): started by skiff with a generated config,
 * then changed only through its runtime API. Frontends and backends cannot be made at runtime,
 * so a new service (or a new port) is the one change that reloads it; a deploy of an existing
 * service never does. The config on disk always names the live servers, so an HAProxy started
 * from nothing (after a crash or a reboot) serves the live release at once.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { storePaths } from '../store/paths.js';
import { writeFileAtomic } from '../util/atomic.js';
import { FailedPrecondition, Unavailable } from '../util/errors.js';
import { programPath } from '../util/programs.js';
import { ProxyApi } from './haproxy-api.js';

export interface Frontend {
  service: string;
  bind: string;
  port: number;
  /** HTTP path HAProxy checks on each server; none for no checks */
  health?: string;
  servers: { name: string; address: string }[];
}

export const backendOf = (service: string) => `be_${service}`;

export class Proxy {
  readonly dir: string;
  readonly api: ProxyApi;

  constructor(root: string) {
    this.dir = storePaths(root).proxy;
    this.api = new ProxyApi(path.join(this.dir, 'admin.sock'));
  }

  private get configFile() {
    return path.join(this.dir, 'haproxy.cfg');
  }

  private get pidFile() {
    return path.join(this.dir, 'haproxy.pid');
  }

  /** The running HAProxy's pid, if its pid file names a live haproxy (a zombie is not). */
  pid(): number | undefined {
    try {
      const pid = Number(fs.readFileSync(this.pidFile, 'utf8').trim());
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
      return comm === 'haproxy' && state !== 'Z' && state !== 'X' ? pid : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * Makes HAProxy run with these frontends: starts it, or reloads it when the set of
   * frontends changed (the servers of the running instance are written into the config first:
   * a reload forgets servers added at runtime). Checks every port before anything changes.
   */
  async ensure(frontends: Frontend[]): Promise<void> {
    const binary = haproxyBinary();
    fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const pid = this.pid();
    const structure = structureKey(frontends);
    const running = pid !== undefined;
    if (running && !(await this.api.alive())) {
      throw new Unavailable(
        `haproxy (pid ${pid}): its socket \`${this.api.socketPath}\` does not answer; nothing was changed (stop that process to let skiff start a new one)`,
        { code: 'PROXY_UNAVAILABLE' },
      );
    }
    const current = running ? this.readStructure() : undefined;
    if (running && current === structure) return;
    const owned = running ? this.boundPorts() : new Set<string>();
    for (const f of frontends) {
      if (!owned.has(`${f.bind}:${f.port}`)) await assertPortFree(f.service, f.bind, f.port);
    }
    this.writeConfig(frontends, binary);
    const args = ['-f', this.configFile, '-D', '-p', this.pidFile];
    // Daemon-mode reload: the new process takes the listeners over the old one's socket (-x)
    // and the old one finishes its requests (-sf): 0 failed requests (docs/haproxy.md#reload).
    if (running) args.push('-x', this.api.socketPath, '-sf', String(pid));
    const r = spawnSync(binary, args, { encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'] });
    if (r.status !== 0) {
      throw new FailedPrecondition(`start haproxy: ${lastLine(r.stderr) || `exit status ${r.status}`}`, {
        code: 'PROXY_FAILED',
      });
    }
    await this.waitReady(running ? pid : undefined);
    fs.writeFileSync(path.join(this.dir, 'structure'), structure);
  }

  /**
   * Rewrites the config with the servers now live, without touching the running HAProxy. Only
   * server lines changed since `ensure` validated this shape, so `haproxy -c` (~90 ms of CPU
   * while traffic is being moved) is skipped.
   */
  saveServers(frontends: Frontend[]): void {
    if (!fs.existsSync(this.dir)) return;
    writeFileAtomic(this.configFile, renderConfig(this.api.socketPath, frontends), 0o600);
  }

  stop(): void {
    const pid = this.pid();
    if (pid !== undefined) {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        // gone meanwhile
      }
    }
    fs.rmSync(path.join(this.dir, 'structure'), { force: true });
  }

  /** Drops what a dead instance left (its socket, its recorded shape) before a fresh start. */
  forget(): void {
    fs.rmSync(path.join(this.dir, 'structure'), { force: true });
    fs.rmSync(this.api.socketPath, { force: true });
  }

  private writeConfig(frontends: Frontend[], binary: string): void {
    const text = renderConfig(this.api.socketPath, frontends);
    const tmp = `${this.configFile}.new`;
    fs.writeFileSync(tmp, text);
    const check = spawnSync(binary, ['-c', '-q', '-f', tmp], { encoding: 'utf8' });
    if (check.status !== 0) {
      fs.rmSync(tmp, { force: true });
      throw new FailedPrecondition(`haproxy config: ${lastLine(check.stderr || check.stdout) || 'invalid'}`, {
        code: 'PROXY_CONFIG',
      });
    }
    writeFileAtomic(this.configFile, text, 0o600);
    fs.rmSync(tmp, { force: true });
  }

  private readStructure(): string | undefined {
    try {
      return fs.readFileSync(path.join(this.dir, 'structure'), 'utf8');
    } catch {
      return undefined;
    }
  }

  private boundPorts(): Set<string> {
    try {
      const text = fs.readFileSync(this.configFile, 'utf8');
      return new Set([...text.matchAll(/^\s+bind (\S+)$/gm)].map((m) => m[1]!));
    } catch {
      return new Set();
    }
  }

  private async waitReady(oldPid: number | undefined): Promise<void> {
    const deadline = Date.now() + 5_000;
    while (Date.now() < deadline) {
      const pid = this.pid();
      if (pid !== undefined && pid !== oldPid && (await this.api.alive())) return;
      await sleep(10);
    }
    throw new Unavailable(`start haproxy: its socket \`${this.api.socketPath}\` did not answer within 5 s`, {
      code: 'PROXY_UNAVAILABLE',
    });
  }
}

export function haproxyBinary(): string {
  return programPath('haproxy');
}

/**
 * The base config (docs/haproxy.md#base-config, #reload): an admin socket, retries with
 * redispatch (a refused connect goes to another server), `idle-close-on-response` and
 * `hard-stop-after` so that a reload drops no idle keep-alive client.
 */
export function renderConfig(socket: string, frontends: Frontend[]): string {
  const lines = [
    'global',
    `    stats socket ${socket} mode 600 level admin expose-fd listeners`,
    '    stats timeout 2m',
    '    maxconn 4096',
    '    hard-stop-after 30s',
    '',
    'defaults',
    '    mode http',
    '    timeout connect 2s',
    '    timeout client 30s',
    '    timeout server 30s',
    '    timeout http-keep-alive 10s',
    '    timeout queue 5s',
    '    retries 3',
    '    option redispatch 1',
    '    option idle-close-on-response',
  ];
  for (const f of [...frontends].sort((a, b) => a.service.localeCompare(b.service))) {
    lines.push(
      '',
      `frontend fe_${f.service}`,
      `    bind ${f.bind}:${f.port}`,
      `    default_backend ${backendOf(f.service)}`,
      '',
      `backend ${backendOf(f.service)}`,
      '    balance roundrobin',
    );
    if (f.health) lines.push(`    option httpchk GET ${f.health}`, '    http-check expect status 200');
    const check = f.health ? ' check inter 1s fall 2 rise 1' : '';
    for (const s of f.servers) lines.push(`    server ${s.name} ${s.address}${check} weight 100`);
  }
  return `${lines.join('\n')}\n`;
}

/** What a reload is needed for: frontends, their ports and checks — not the servers. */
function structureKey(frontends: Frontend[]): string {
  const shape = [...frontends]
    .sort((a, b) => a.service.localeCompare(b.service))
    .map((f) => `${f.service} ${f.bind}:${f.port} ${f.health ?? ''}`);
  return createHash('sha256').update(shape.join('\n')).digest('hex');
}

function assertPortFree(service: string, bind: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        new FailedPrecondition(
          `deploy \`${service}\`: port ${bind}:${port} is ${err.code === 'EADDRINUSE' ? 'already in use' : `not usable (${err.code})`}`,
          { code: 'PORT_TAKEN' },
        ),
      ),
    );
    server.listen({ host: bind, port, exclusive: true }, () => server.close(() => resolve()));
  });
}

function lastLine(text: string): string {
  return (
    text
      .trim()
      .split('\n')
      .filter((l) => l.trim() !== '')
      .pop() ?? ''
  );
}
