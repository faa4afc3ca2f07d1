/**
 * Docker's `-p` syntax: `[hostIp:][hostPort:]containerPort[/tcp|udp]`, each port optionally a
 * range `a-b`. A missing or 0 host port means "pick a free one when attaching".
 */
import { InvalidArgument } from '../../util/errors.js';
import { parseIp } from './subnet.js';

export interface PortMapping {
  /** IPv4 address on the host; absent means every address (0.0.0.0). */
  hostIp?: string;
  /** 0 until attach picks a free port. */
  hostPort: number;
  containerPort: number;
  protocol: 'tcp' | 'udp';
}

export function parsePublish(s: string): PortMapping[] {
  const fail = (cause: string): never => {
    throw new InvalidArgument(`invalid publish \`${s}\`: ${cause}`);
  };
  let spec = s.trim();
  let protocol: 'tcp' | 'udp' = 'tcp';
  const slash = spec.lastIndexOf('/');
  if (slash >= 0) {
    const proto = spec.slice(slash + 1).toLowerCase();
    if (proto !== 'tcp' && proto !== 'udp') fail(`unsupported protocol \`${proto}\``);
    protocol = proto as 'tcp' | 'udp';
    spec = spec.slice(0, slash);
  }
  if (spec.startsWith('[')) fail('IPv6 host addresses are not supported');
  const parts = spec.split(':');
  if (parts.length > 3) fail('IPv6 host addresses are not supported');
  const containerPart = parts[parts.length - 1]!;
  const hostPart = parts.length >= 2 ? parts[parts.length - 2]! : '';
  let hostIp: string | undefined;
  if (parts.length === 3) {
    const ip = parts[0]!;
    if (parseIp(ip) === undefined) fail(`invalid host address \`${ip}\``);
    if (ip !== '0.0.0.0') hostIp = ip;
  }
  if (parts.length === 2 && hostPart === '') fail('empty host port');

  const container = parseRange(containerPart, false, fail);
  const host = hostPart === '' ? undefined : parseRange(hostPart, true, fail);
  const count = container[1] - container[0] + 1;
  if (host && host[1] - host[0] + 1 !== count) {
    fail(
      host[0] === host[1] && count > 1
        ? 'a container port range needs a host port range'
        : 'port ranges differ in length',
    );
  }
  const mappings: PortMapping[] = [];
  for (let i = 0; i < count; i++) {
    const hostPort = host ? (host[0] === 0 ? 0 : host[0] + i) : 0;
    const m: PortMapping = { hostPort, containerPort: container[0] + i, protocol };
    if (hostIp !== undefined) m.hostIp = hostIp;
    mappings.push(m);
  }
  return mappings;
}

function parseRange(text: string, allowZero: boolean, fail: (cause: string) => never): [number, number] {
  const m = /^(\d+)(?:-(\d+))?$/.exec(text);
  if (!m) return fail(`bad port \`${text}\``);
  const lo = Number(m[1]);
  const hi = m[2] === undefined ? lo : Number(m[2]);
  const bad = (p: number): boolean => p > 65535 || (p === 0 && !(allowZero && m[2] === undefined));
  if (bad(lo) || bad(hi)) fail('port out of range');
  if (hi < lo) fail(`bad port range \`${text}\``);
  return [lo, hi];
}

/** "0.0.0.0:8080->80/tcp", as `docker ps` shows it. */
export function formatMapping(m: PortMapping): string {
  return `${m.hostIp ?? '0.0.0.0'}:${m.hostPort}->${m.containerPort}/${m.protocol}`;
}
