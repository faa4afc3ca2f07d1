/**
 * IPv4 arithmetic for bridge networks: CIDR parsing, the gateway and container addresses of a
 * subnet, overlap checks, and picking a free /24 from skiff's pool. Addresses are kept as
 * unsigned 32-bit numbers; only the edges print dotted quads.
 */
import fs from 'node:fs';
import { InvalidArgument } from '../../util/errors.js';

export interface Subnet {
  /** Network address as an unsigned 32-bit number. */
  base: number;
  prefix: number;
}

/** skiff's default pool: 10.89.0.0/16 (Podman takes 10.88.0.0/16). */
export const DEFAULT_POOL = '10.89.0.0/16';

const QUAD = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** "10.89.0.2" → number, or undefined when it is not a dotted quad. */
export function parseIp(s: string): number | undefined {
  const m = QUAD.exec(s);
  if (!m) return undefined;
  let n = 0;
  for (let i = 1; i <= 4; i++) {
    const octet = Number(m[i]);
    if (octet > 255 || (m[i]!.length > 1 && m[i]!.startsWith('0'))) return undefined;
    n = n * 256 + octet;
  }
  return n;
}

export function formatIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

function mask(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/**
 * "10.89.3.0/24" → Subnet. Prefixes /8 to /30 only: a /30 still holds the gateway and one
 * container; anything wider than /8 is surely a typo. Host bits must be zero.
 */
export function parseSubnet(s: string): Subnet {
  const fail = (cause: string): never => {
    throw new InvalidArgument(`invalid subnet \`${s}\`: ${cause}`);
  };
  const [addr, bits, extra] = s.split('/');
  if (addr === undefined || bits === undefined || extra !== undefined) fail('expected a.b.c.d/prefix');
  const base = parseIp(addr!);
  if (base === undefined) return fail('not an IPv4 address');
  if (!/^\d{1,2}$/.test(bits!)) fail('bad prefix length');
  const prefix = Number(bits);
  if (prefix < 8 || prefix > 30) fail('prefix length must be between 8 and 30');
  if ((base & ~mask(prefix)) >>> 0 !== 0)
    fail(`host bits set (did you mean ${formatIp((base & mask(prefix)) >>> 0)}/${prefix}?)`);
  return { base, prefix };
}

export function formatSubnet(s: Subnet): string {
  return `${formatIp(s.base)}/${s.prefix}`;
}

export function size(s: Subnet): number {
  return 2 ** (32 - s.prefix);
}

export function contains(s: Subnet, ip: number): boolean {
  return (ip & mask(s.prefix)) >>> 0 === s.base;
}

export function overlaps(a: Subnet, b: Subnet): boolean {
  const p = Math.min(a.prefix, b.prefix);
  return (a.base & mask(p)) >>> 0 === (b.base & mask(p)) >>> 0;
}

/** The gateway is the first address, the bridge's own. */
export function gatewayOf(s: Subnet): number {
  return s.base + 1;
}

/**
 * A free address for a container: after the gateway, before broadcast, not in `used`. The
 * search starts after `last` (the address handed out before) and wraps around, so an address
 * is not reused at once: the dying netns of the container that had it may still answer ARP
 * for a moment, and conntrack may still hold its flows.
 */
export function freeAddress(s: Subnet, used: ReadonlySet<number>, last?: number): number | undefined {
  const first = s.base + 2;
  const end = s.base + size(s) - 2;
  const start = last !== undefined && last >= first && last < end ? last + 1 : first;
  for (let i = 0; i <= end - first; i++) {
    const ip = first + ((start - first + i) % (end - first + 1));
    if (!used.has(ip)) return ip;
  }
  return undefined;
}

/**
 * A MAC derived from the IP (as Docker does): a container that reuses an address also reuses
 * its MAC, so neighbours' ARP caches stay right. 02: locally administered, unicast.
 */
export function macFor(ip: number): string {
  const bytes = [0x02, 0x73, ip >>> 24, (ip >>> 16) & 255, (ip >>> 8) & 255, ip & 255];
  return bytes.map((b) => b.toString(16).padStart(2, '0')).join(':');
}

/** The IPv4 routes of the host's main table (/proc/net/route), default route excluded. */
export function hostRoutes(file = '/proc/net/route'): Subnet[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  const routes: Subnet[] = [];
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 8) continue;
    // Fields are little-endian hex: 0002000A is 10.0.2.0.
    const dest = Number.parseInt(f[1]!, 16);
    const m = Number.parseInt(f[7]!, 16);
    if (!Number.isFinite(dest) || !Number.isFinite(m) || m === 0) continue;
    const prefix = popcount(m);
    routes.push({ base: swap32(dest), prefix });
  }
  return routes;
}

function swap32(n: number): number {
  return (((n & 255) << 24) | (((n >>> 8) & 255) << 16) | (((n >>> 16) & 255) << 8) | (n >>> 24)) >>> 0;
}

function popcount(n: number): number {
  let c = 0;
  for (let v = n >>> 0; v; v >>>= 1) c += v & 1;
  return c;
}

/** First /24 of `pool` (or the pool itself, if smaller) that overlaps none of `taken`. */
export function pickSubnet(pool: Subnet, taken: readonly Subnet[]): Subnet | undefined {
  const prefix = Math.max(24, pool.prefix);
  const step = 2 ** (32 - prefix);
  for (let base = pool.base; base < pool.base + size(pool); base += step) {
    const candidate = { base, prefix };
    if (!taken.some((t) => overlaps(t, candidate))) return candidate;
  }
  return undefined;
}
