/**
 * A new bridge network's row: its subnet (the one asked for, or the first free /24 of the pool
 * that no network and no host route uses) and its bridge device name (`<prefix><n>`, the
 * lowest n that is neither in the database nor an existing link).
 */
import { randomBytes } from 'node:crypto';
import { FailedPrecondition } from '../../util/errors.js';
import { linkExists } from './links.js';
import type { NetworkRow } from './network-store.js';
import {
  formatIp,
  formatSubnet,
  gatewayOf,
  hostRoutes,
  overlaps,
  parseSubnet,
  pickSubnet,
  type Subnet,
} from './subnet.js';

export interface PlanOptions {
  existing: readonly NetworkRow[];
  wanted: Subnet | undefined;
  pool: Subnet;
  bridgePrefix: string;
}

export function planNetwork(what: string, name: string, o: PlanOptions): NetworkRow {
  let subnet = o.wanted;
  if (subnet) {
    const want = subnet;
    const clash = o.existing.find((r) => overlaps(parseSubnet(r.subnet), want));
    if (clash) {
      throw new FailedPrecondition(
        `${what}: subnet ${formatSubnet(want)} overlaps network \`${clash.name}\` (${clash.subnet})`,
      );
    }
  } else {
    // Also avoid the host's routes: another skiff root's bridges, VPNs, the LAN.
    subnet = pickSubnet(o.pool, [...o.existing.map((r) => parseSubnet(r.subnet)), ...hostRoutes()]);
    if (!subnet) throw new FailedPrecondition(`${what}: no free /24 left in ${formatSubnet(o.pool)}`);
  }
  const bridges = new Set(o.existing.map((r) => r.bridge));
  let n = 0;
  while (bridges.has(`${o.bridgePrefix}${n}`) || linkExists(`${o.bridgePrefix}${n}`)) n++;
  const bridge = `${o.bridgePrefix}${n}`;
  if (bridge.length > 15) {
    throw new FailedPrecondition(
      `${what}: bridge name \`${bridge}\` is longer than 15 characters (IFNAMSIZ)`,
    );
  }
  return {
    name,
    id: randomBytes(32).toString('hex'),
    driver: 'bridge',
    bridge,
    subnet: formatSubnet(subnet),
    gateway: formatIp(gatewayOf(subnet)),
    created: new Date().toISOString(),
  };
}
