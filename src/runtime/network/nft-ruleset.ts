/**
 * skiff's nftables table (`inet skiff`), written as whole transactions for `nft -f -`.
 *
 *   prerouting, output (nat, dstnat)  fib daddr type local → jump published
 *   published   dnat to the container through two maps, so a port is one map element, never a rule:
 *                 ports_ip   hostIp . proto . hostPort → containerIp . containerPort   (-p 127.0.0.1:80:80)
 *                 ports_any          proto . hostPort → containerIp . containerPort   (-p 80:80)
 *   postrouting (nat, srcnat), per bridge B with subnet S:
 *                 oifname B, saddr 127/8 or S, DNATed → masquerade   (localhost and hairpin replies)
 *                 oifname != B, saddr S → masquerade                 (outbound NAT)
 *
 * The chains are flushed and rewritten from the database in one transaction (atomic,
 * idempotent) when a bridge is created (first container on a network after boot), when a
 * network is removed, and when a port cannot be added because the table is gone. Map elements
 * are never rewritten that way; they belong to the containers that added them.
 */
import type { PortMapping } from './publish.js';
import { runTool, oneLine } from './tools.js';
import { FailedPrecondition } from '../../util/errors.js';

export interface BridgeRule {
  bridge: string;
  subnet: string;
}

/** The statements that create the table if needed and rewrite its chains. */
export function ensureScript(table: string, bridges: readonly BridgeRule[]): string[] {
  const t = `inet ${table}`;
  const lines = [
    `add table ${t}`,
    `add map ${t} ports_ip { type ipv4_addr . inet_proto . inet_service : ipv4_addr . inet_service; }`,
    `add map ${t} ports_any { type inet_proto . inet_service : ipv4_addr . inet_service; }`,
    `add chain ${t} prerouting { type nat hook prerouting priority dstnat; policy accept; }`,
    `add chain ${t} output { type nat hook output priority -100; policy accept; }`,
    `add chain ${t} postrouting { type nat hook postrouting priority srcnat; policy accept; }`,
    `add chain ${t} published`,
  ];
  for (const chain of ['prerouting', 'output', 'postrouting', 'published'])
    lines.push(`flush chain ${t} ${chain}`);
  lines.push(
    `add rule ${t} prerouting fib daddr type local jump published`,
    `add rule ${t} output fib daddr type local jump published`,
    `add rule ${t} published meta nfproto ipv4 dnat ip to ip daddr . meta l4proto . th dport map @ports_ip`,
    `add rule ${t} published meta nfproto ipv4 dnat ip to meta l4proto . th dport map @ports_any`,
  );
  for (const { bridge, subnet } of bridges) {
    lines.push(
      `add rule ${t} postrouting oifname "${bridge}" ip saddr { 127.0.0.0/8, ${subnet} } ct status dnat masquerade`,
      `add rule ${t} postrouting oifname != "${bridge}" ip saddr ${subnet} masquerade`,
    );
  }
  return lines;
}

function element(table: string, m: PortMapping, ip: string, withValue: boolean): string {
  const map = m.hostIp ? 'ports_ip' : 'ports_any';
  const key = `${m.hostIp ? `${m.hostIp} . ` : ''}${m.protocol} . ${m.hostPort}`;
  return `inet ${table} ${map} { ${key}${withValue ? ` : ${ip} . ${m.containerPort}` : ''} }`;
}

export interface AddResult {
  /** Mappings whose host port another container already holds. */
  taken: PortMapping[];
  /** The table or its maps do not exist (never ensured, or someone deleted them). */
  noTable: boolean;
}

/**
 * One transaction that `create`s (fails if present) an element per mapping, so a held port
 * aborts it whole and the caller learns which mappings collided. Only additions: on this
 * kernel a transaction that deletes or updates a chain costs an RCU grace period (~10 ms, paid
 * when nft closes its socket); pure additions do not.
 */
export function addPorts(what: string, table: string, ports: readonly PortMapping[], ip: string): AddResult {
  const script = ports.map((m) => `create element ${element(table, m, ip, true)}`);
  const r = runTool('nft', ['-f', '-'], script.join('\n') + '\n');
  if (r.status === 0) return { taken: [], noTable: false };
  const taken: PortMapping[] = [];
  for (const m of r.stderr.matchAll(/:(\d+):[\d-]+: Error: Could not process rule: File exists/g)) {
    const mapping = ports[Number(m[1]) - 1];
    if (mapping) taken.push(mapping);
  }
  if (taken.length > 0) return { taken, noTable: false };
  if (/No such file or directory/.test(r.stderr)) return { taken: [], noTable: true };
  throw new FailedPrecondition(`${what}: nft: ${oneLine(r.stderr)}`);
}

/** Creates the table if needed and rewrites its chains for `bridges`: one transaction. */
export function syncRules(what: string, table: string, bridges: readonly BridgeRule[]): void {
  const r = runTool('nft', ['-f', '-'], ensureScript(table, bridges).join('\n') + '\n');
  if (r.status !== 0) throw new FailedPrecondition(`${what}: nft: ${oneLine(r.stderr)}`);
}

/**
 * Deletes this container's port elements and nobody else's. Each delete is preceded by an
 * `add` of the same element with this container's value: a no-op if it is there, a harmless
 * insert if a half-done attach never added it, and EBUSY (aborting everything) if another
 * container holds that key, so a stale record can never delete a neighbour's port. Returns
 * false when some element could not be removed.
 */
export function removePorts(table: string, ports: readonly PortMapping[], ip: string): boolean {
  if (ports.length === 0) return true;
  const pair = (m: PortMapping): string[] => [
    `add element ${element(table, m, ip, true)}`,
    `delete element ${element(table, m, ip, false)}`,
  ];
  const r = runTool('nft', ['-f', '-'], ports.flatMap(pair).join('\n') + '\n');
  if (r.status === 0) return true;
  // No table (never ensured, or flushed): nothing of ours can be there.
  if (/No such file or directory/.test(r.stderr) && !/File exists/.test(r.stderr)) return true;
  // Some key belongs to someone else: remove ours one by one.
  let ok = true;
  for (const m of ports) {
    const one = runTool('nft', ['-f', '-'], pair(m).join('\n') + '\n');
    if (one.status !== 0 && !/File exists/.test(one.stderr)) ok = false;
  }
  return ok;
}
