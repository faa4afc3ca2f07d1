/**
 * Host ports as the host's own sockets use them. Published ports are DNAT rules, not listening
 * sockets, so nothing fails by itself when a host process already listens on the port (it
 * would silently lose its traffic to the container): skiff checks /proc/net for an explicit
 * port, as Docker's proxy would fail to bind it. Random ports come from the kernel's ephemeral
 * range.
 */
import { randomInt } from 'node:crypto';
import fs from 'node:fs';
import { AlreadyExists, FailedPrecondition, InvalidArgument } from '../../util/errors.js';
import { formatMapping, type PortMapping } from './publish.js';

/** Ports with a listening TCP socket, or any bound UDP socket, in the caller's network namespace. */
export function boundPorts(protocol: 'tcp' | 'udp'): Set<number> {
  const ports = new Set<number>();
  for (const file of [`/proc/net/${protocol}`, `/proc/net/${protocol}6`]) {
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 4) continue;
      // st 0A is TCP_LISTEN; for UDP (07, "closed") every row is a bound socket.
      if (protocol === 'tcp' && f[3] !== '0A') continue;
      const port = Number.parseInt(f[1]!.split(':')[1] ?? '', 16);
      if (Number.isFinite(port)) ports.add(port);
    }
  }
  return ports;
}

export function ephemeralRange(): [number, number] {
  try {
    const [lo, hi] = fs
      .readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8')
      .trim()
      .split(/\s+/)
      .map(Number);
    if (lo && hi && lo <= hi) return [lo, hi];
  } catch {
    // fall through to the kernel's default
  }
  return [32768, 60999];
}

/** A port in the ephemeral range that is not in `avoid`. */
export function randomPort(avoid: ReadonlySet<number>): number | undefined {
  const [lo, hi] = ephemeralRange();
  for (let i = 0; i < 64; i++) {
    const p = randomInt(lo, hi + 1);
    if (!avoid.has(p)) return p;
  }
  return undefined;
}

/** Rejects two mappings of one host port and protocol on overlapping host addresses. */
export function checkPorts(ports: readonly PortMapping[]): PortMapping[] {
  const seen = new Map<string, string[]>();
  for (const m of ports) {
    if (m.hostPort === 0) continue;
    const key = `${m.hostPort}/${m.protocol}`;
    const ip = m.hostIp ?? '0.0.0.0';
    const ips = seen.get(key) ?? [];
    if (ips.some((other) => other === ip || other === '0.0.0.0' || ip === '0.0.0.0')) {
      throw new InvalidArgument(`publish \`${formatMapping(m)}\`: host port given twice`);
    }
    seen.set(key, [...ips, ip]);
  }
  return [...ports];
}

/**
 * Fixes random host ports and checks explicit ones against the host's own listening sockets.
 * Random ports skip that check: reading /proc/net/tcp{,6} walks the whole TCP hash table (~8 ms
 * each on this 24 GiB machine however few sockets exist), and a host process that happens to
 * listen on a random ephemeral port is improbable; a clash with another container is caught
 * by nft either way.
 */
export function resolvePorts(what: string, requested: readonly PortMapping[]): PortMapping[] {
  const picked = { tcp: new Set<number>(), udp: new Set<number>() };
  for (const m of requested) if (m.hostPort !== 0) picked[m.protocol].add(m.hostPort);
  const bound: { tcp?: Set<number>; udp?: Set<number> } = {};
  return requested.map((m) => {
    if (m.hostPort !== 0) {
      const ports = (bound[m.protocol] ??= boundPorts(m.protocol));
      if (ports.has(m.hostPort)) {
        throw new AlreadyExists(`publish \`${formatMapping(m)}\`: address already in use on the host`);
      }
      return { ...m };
    }
    const port = randomPort(picked[m.protocol]);
    if (port === undefined) throw new FailedPrecondition(`${what}: no free ${m.protocol} port on the host`);
    picked[m.protocol].add(port);
    return { ...m, hostPort: port };
  });
}
