/**
 * The user networks a container is on besides its first: each is one more veth into the
 * container's netns (`eth<index>`), joined at start (a compose service's `networks`) or later
 * (`network connect`), and left again (`network disconnect`) while the container runs.
 *
 * The index of each is kept in the endpoint record: after a disconnect the others keep their
 * devices, and the next join takes the lowest free index. As with the first network, the
 * endpoint row reserves the address and the record names the network before the link is made,
 * so a detach at any point (kill -9 included) finds and removes it.
 */
import { AlreadyExists, FailedPrecondition, InvalidArgument, NotFound } from '../../util/errors.js';
import { readLastAddress, writeLastAddress, writeRecord, type EndpointRecord } from './endpoint-record.js';
import { deleteLink, MAX_NETWORKS } from './links.js';
import type { NetworkRow, NetworkStore } from './network-store.js';
import { contains, formatIp, freeAddress, gatewayOf, macFor, parseIp, parseSubnet } from './subnet.js';

/** What a join needs of the network manager. */
export interface JoinContext {
  store: NetworkStore;
  stateDir: string;
  /** Names that can never be a further network (`bridge`, `host`, `none`, `default`). */
  reserved: ReadonlySet<string>;
  /** The bridge (made when missing) and the veth `eth<index>` on it, with its address. */
  link(net: NetworkRow, c: { containerId: string; mac: string; ip: string; index: number }): void;
}

export interface FurtherNetwork {
  network: string;
  aliases?: string[];
  /** An address asked for (`--ip`, compose's `ipv4_address`); else the next free one. */
  ip?: string;
}

/** The `eth<n>` index of the record's `position`-th further network (records before indexes: position + 1). */
export function extraIndex(record: EndpointRecord, position: number): number {
  return record.extra?.[position]?.index ?? position + 1;
}

/** One past the highest `eth<n>` the record names: how many veths a detach may have to remove. */
export function linkCount(record: EndpointRecord | undefined): number {
  let highest = 0;
  for (let i = 0; i < (record?.extra?.length ?? 0); i++) highest = Math.max(highest, extraIndex(record!, i));
  return highest + 1;
}

/** Joins `e` as a further network of the attached container `record`; the record is updated. */
export function joinNetwork(ctx: JoinContext, what: string, record: EndpointRecord, e: FurtherNetwork): void {
  const taken = new Set((record.extra ?? []).map((_, i) => extraIndex(record, i)));
  if (ctx.reserved.has(e.network))
    throw new InvalidArgument(
      `${what}: cannot join \`${e.network}\` as a further network: it can only be a container's first`,
    );
  if (e.network === record.network || record.extra?.some((x) => x.network === e.network))
    throw new AlreadyExists(
      `${what}: cannot join \`${e.network}\` as a further network: the container is already on it`,
    );
  let index = 1;
  while (taken.has(index)) index++;
  if (index >= MAX_NETWORKS)
    throw new InvalidArgument(`${what}: at most ${MAX_NETWORKS} networks per container`);
  const net = ctx.store.get(e.network);
  if (!net) throw new NotFound(`${what}: no such network \`${e.network}\``, { code: 'NETWORK_NOT_FOUND' });
  const aliases = e.aliases ?? [];
  const ip = ctx.store.write(() => {
    const found = pickAddress(ctx, what, net, e.ip);
    ctx.store.insertEndpoint({
      container_id: record.containerId,
      network: net.name,
      ip: found,
      mac: macFor(parseIp(found)!),
      aliases: JSON.stringify(aliases),
    });
    return found;
  });
  const before = record.extra;
  record.extra = [...(before ?? []), { network: net.name, ip, aliases, index }];
  try {
    writeRecord(ctx.stateDir, record);
    ctx.link(net, { containerId: record.containerId, mac: macFor(parseIp(ip)!), ip, index });
  } catch (err) {
    // A connect to a running container must leave it as it was; the join's error is the news.
    try {
      deleteLink(what, record.containerId, index);
      record.extra = before;
      writeRecord(ctx.stateDir, record);
      ctx.store.write(() => ctx.store.deleteEndpoint(record.containerId, net.name));
    } catch {
      // What is left goes with the container's detach.
    }
    throw err;
  }
}

/** Inside the write transaction: the address asked for if it is free, else the next free one. */
function pickAddress(ctx: JoinContext, what: string, net: NetworkRow, asked: string | undefined): string {
  const subnet = parseSubnet(net.subnet);
  const used = new Set(ctx.store.usedIps(net.name).map((x) => parseIp(x)!));
  if (asked !== undefined) {
    const want = parseIp(asked);
    if (want === undefined || !contains(subnet, want) || want === gatewayOf(subnet) || want === subnet.base)
      throw new InvalidArgument(`${what}: address ${asked} is not a host address of ${net.subnet}`);
    if (used.has(want))
      throw new AlreadyExists(`${what}: address ${asked} is in use on network \`${net.name}\``);
    return asked;
  }
  const last = readLastAddress(ctx.stateDir, net.name);
  const addr = freeAddress(subnet, used, last === undefined ? undefined : parseIp(last));
  if (addr === undefined)
    throw new FailedPrecondition(`${what}: no free address in ${net.subnet} (network \`${net.name}\`)`);
  writeLastAddress(ctx.stateDir, net.name, formatIp(addr));
  return formatIp(addr);
}

/**
 * Leaves the further network `network`: its veth goes (the pair with it), then the record's
 * entry, then the endpoint row that held the address. Its first network a container keeps.
 */
export function leaveNetwork(ctx: JoinContext, what: string, record: EndpointRecord, network: string): void {
  const position = record.extra?.findIndex((x) => x.network === network) ?? -1;
  if (position < 0) {
    if (record.network === network)
      throw new FailedPrecondition(
        `${what}: \`${network}\` is the container's first network; a running container keeps it (stop the container first)`,
      );
    throw new NotFound(`${what}: the container is not on network \`${network}\``);
  }
  deleteLink(what, record.containerId, extraIndex(record, position));
  // Older records left indexes implicit (position + 1): each is written down before positions move.
  record.extra = record
    .extra!.map((x, i) => ({ ...x, index: extraIndex(record, i) }))
    .filter((_, i) => i !== position);
  writeRecord(ctx.stateDir, record);
  ctx.store.write(() => ctx.store.deleteEndpoint(record.containerId, network));
}
