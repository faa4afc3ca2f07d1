/**
 * Container networking: bridge networks (the default `bridge` and user networks), `host` and
 * `none`. An attach runs one `ip` process (plus one `nft` when it publishes ports); a detach
 * runs none (plus one `nft` for ports). Podman's netavark runs ~30 iptables processes.
 *
 * Order of an attach, so that a detach at any point (kill -9 included) cleans up:
 *   1. endpoint row (reserves the address)   2. endpoint record (names the ports)
 *   3. bridge and nft chains if the bridge is missing; netns, veth, addresses, route
 *   4. port elements in the nft maps         5. resolv.conf, then every hosts file on the
 *                                               network (under the DB write lock)
 * A failed attach detaches before it throws. A detach removes in the reverse order and deletes
 * the endpoint row last.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Database } from 'better-sqlite3';
import { runTool } from './tools.js';
import {
  AlreadyExists,
  FailedPrecondition,
  InvalidArgument,
  NotFound,
  errnoCode,
} from '../../util/errors.js';
import {
  containerDir,
  hasState,
  hostsPath,
  readLastAddress,
  readRecord,
  removeContainerDir,
  resolvConfPath,
  writeLastAddress,
  writeRecord,
  type EndpointRecord,
} from './endpoint-record.js';
import { checkPorts, resolvePorts } from './host-ports.js';
import { readHostFile, renderHosts, renderResolvConf, writeInPlace, type HostEntry } from './hosts-file.js';
import {
  createEndpoint,
  createIsolated,
  deleteBridge,
  deleteEndpoint,
  ensureBridge,
  linkExists,
  netnsPath,
  vethName,
} from './links.js';
import { NetworkStore, type NetworkRow } from './network-store.js';
import { addPorts, removePorts, syncRules, type BridgeRule } from './nft-ruleset.js';
import { formatMapping, type PortMapping } from './publish.js';
import { planNetwork } from './network-plan.js';
import {
  joinNetwork,
  leaveNetwork,
  linkCount,
  type FurtherNetwork,
  type JoinContext,
} from './extra-networks.js';
import {
  DEFAULT_POOL,
  formatIp,
  gatewayOf,
  macFor,
  parseIp,
  parseSubnet,
  freeAddress,
  type Subnet,
} from './subnet.js';

export const DEFAULT_NETWORK = 'bridge';
const RESERVED = new Set(['host', 'none', 'default']);
const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$/;
const CONTAINER_ID = /^[0-9a-f]{12,64}$/;

export interface NetworkInfo {
  name: string;
  id: string;
  driver: 'bridge';
  bridge: string;
  subnet: string;
  gateway: string;
  created: string;
  labels: Record<string, string>;
  containers: { id: string; name: string; ip: string; mac: string }[];
}

export interface Attachment {
  /** 'host' → share the host netns; 'none' → a new netns with only lo; else the named network. */
  mode: 'host' | 'none' | 'bridge';
  /** /run/netns/skiff-<12hex>, absent for host. */
  netnsPath?: string;
  ip?: string;
  gateway?: string;
  mac?: string;
  network?: string;
  /** The published ports with random host ports resolved. */
  ports: PortMapping[];
  /** Files to bind into the container at /etc/hosts and /etc/resolv.conf. */
  hostsFile: string;
  resolvConf: string;
}

export interface AttachOptions {
  /** 'bridge' (the default network) | 'host' | 'none' | a user network's name. */
  network: string;
  name: string;
  hostname: string;
  aliases?: string[];
  ports?: PortMapping[];
  /** User networks joined besides `network`, as eth1, eth2, … */
  extra?: FurtherNetwork[];
}

export interface NetworkManagerOptions {
  /** nftables table in family inet; tests use their own. */
  table?: string;
  /** Bridge devices are `<prefix><n>`. */
  bridgePrefix?: string;
  /** Where automatic subnets (/24s) come from. */
  pool?: string;
}

export class NetworkManager {
  private readonly store: NetworkStore;
  private readonly table: string;
  private readonly bridgePrefix: string;
  private readonly pool: Subnet;

  constructor(
    db: Database,
    private readonly stateDir: string,
    options: NetworkManagerOptions = {},
  ) {
    this.store = new NetworkStore(db);
    this.table = options.table ?? 'skiff';
    this.bridgePrefix = options.bridgePrefix ?? 'skiff';
    this.pool = parseSubnet(options.pool ?? DEFAULT_POOL);
  }

  create(name: string, options: { subnet?: string; labels?: Record<string, string> } = {}): NetworkInfo {
    const what = `create network \`${name}\``;
    if (!NAME.test(name)) throw new InvalidArgument(`${what}: invalid name (letters, digits, "_", ".", "-")`);
    if (RESERVED.has(name)) throw new InvalidArgument(`${what}: the name is reserved`);
    const wanted = options.subnet === undefined ? undefined : parseSubnet(options.subnet);
    this.ensureDefault();
    const row = this.store.write(() => {
      if (this.store.get(name))
        throw new AlreadyExists(`${what}: a network with that name exists`, { code: 'NETWORK_EXISTS' });
      return this.insertNetwork(what, name, wanted, options.labels);
    });
    return this.info(row);
  }

  remove(name: string): void {
    const what = `remove network \`${name}\``;
    if (name === DEFAULT_NETWORK)
      throw new FailedPrecondition(`${what}: the default network cannot be removed`);
    const check = (): NetworkRow => {
      const row = this.store.get(name);
      if (!row) throw new NotFound(`${what}: no such network`, { code: 'NETWORK_NOT_FOUND' });
      const attached = this.store.endpointsOn(name);
      if (attached.length > 0) {
        const names = attached.map((e) => e.name).join(', ');
        throw new FailedPrecondition(`${what}: in use by ${attached.length} container(s): ${names}`, {
          code: 'NETWORK_IN_USE',
        });
      }
      return row;
    };
    const row = check();
    // Kernel first, row last: a crash in between leaves a row whose bridge the next attach recreates.
    deleteBridge(what, row.bridge);
    syncRules(what, this.table, this.bridgeRules(name));
    this.store.write(() => {
      check();
      this.store.delete(name);
    });
    writeLastAddress(this.stateDir, name, undefined);
  }

  /**
   * Removes every network of this store, the default one included, and the store's nftables
   * table: what `system reset` needs once no container is attached.
   */
  reset(): void {
    for (const row of this.store.all()) {
      const what = `remove network \`${row.name}\``;
      if (this.store.endpointsOn(row.name).length > 0) {
        throw new FailedPrecondition(`${what}: containers are still attached`, { code: 'NETWORK_IN_USE' });
      }
      deleteBridge(what, row.bridge);
      this.store.write(() => this.store.delete(row.name));
      writeLastAddress(this.stateDir, row.name, undefined);
    }
    runTool('nft', ['-f', '-'], `delete table inet ${this.table}\n`);
  }

  list(): NetworkInfo[] {
    this.ensureDefault();
    return this.store.all().map((row) => this.info(row));
  }

  inspect(name: string): NetworkInfo {
    if (name === DEFAULT_NETWORK) this.ensureDefault();
    const row = this.store.get(name);
    if (!row)
      throw new NotFound(`inspect network \`${name}\`: no such network`, { code: 'NETWORK_NOT_FOUND' });
    return this.info(row);
  }

  /** The container's address on its (first) network while it is attached. */
  addressOf(containerId: string): string | undefined {
    const endpoints = this.store.endpointsOf(containerId);
    if (endpoints.length > 1) {
      const primary = readRecord(this.stateDir, containerId)?.network;
      return (endpoints.find((e) => e.network === primary) ?? endpoints[0])?.ip;
    }
    return endpoints[0]?.ip;
  }

  /** The published ports of an attached container, host ports resolved (`-p 0:80` → the one picked). */
  publishedPorts(containerId: string): PortMapping[] | undefined {
    return readRecord(this.stateDir, containerId)?.ports;
  }

  attach(containerId: string, options: AttachOptions): Attachment {
    if (!CONTAINER_ID.test(containerId))
      throw new InvalidArgument(`attach \`${containerId}\`: invalid container ID`);
    const what = `attach \`${containerId.slice(0, 12)}\``;
    // Left over from an attach or run that never reached its detach (kill -9, power loss).
    if (this.hasLeftovers(containerId)) this.detach(containerId);
    const base = {
      containerId,
      name: options.name,
      hostname: options.hostname,
      aliases: options.aliases ?? [],
      ports: [] as PortMapping[],
    };
    fs.mkdirSync(containerDir(this.stateDir, containerId), { recursive: true });
    const files = {
      hostsFile: hostsPath(this.stateDir, containerId),
      resolvConf: resolvConfPath(this.stateDir, containerId),
    };
    try {
      if (options.network === 'host') {
        writeRecord(this.stateDir, { ...base, mode: 'host' });
        // The host's own files: in its netns, its loopback resolvers are reachable.
        writeInPlace(files.hostsFile, readHostFile('/etc/hosts'));
        writeInPlace(files.resolvConf, readHostFile('/etc/resolv.conf'));
        return { mode: 'host', ports: [], ...files };
      }
      if (options.network === 'none') {
        writeRecord(this.stateDir, { ...base, mode: 'none' });
        createIsolated(what, containerId);
        writeInPlace(files.hostsFile, renderHosts({ ip: '127.0.0.1', names: [options.hostname] }, []));
        writeInPlace(files.resolvConf, renderResolvConf(readHostFile('/etc/resolv.conf')));
        return { mode: 'none', netnsPath: netnsPath(containerId), ports: [], ...files };
      }
      return this.attachBridge(what, { ...base, mode: 'bridge' }, options);
    } catch (err) {
      try {
        this.detach(containerId);
      } catch {
        // The attach error is the one to report; the detach retries when the container is removed.
      }
      throw err;
    }
  }

  detach(containerId: string): void {
    if (!CONTAINER_ID.test(containerId))
      throw new InvalidArgument(`detach \`${containerId}\`: invalid container ID`);
    const what = `detach \`${containerId.slice(0, 12)}\``;
    const record = readRecord(this.stateDir, containerId);
    deleteEndpoint(what, containerId, linkCount(record));
    if (record?.ip && record.ports.length > 0 && !removePorts(this.table, record.ports, record.ip)) {
      // Keep the row and record: releasing the address now would let a new container inherit
      // the stale DNAT element. A later detach retries.
      throw new FailedPrecondition(
        `${what}: could not remove its published ports from nft table \`${this.table}\``,
      );
    }
    this.store.write(() => {
      const networks = new Set(this.store.networksOf(containerId));
      if (record?.network) networks.add(record.network);
      this.store.deleteEndpoints(containerId);
      // On the default network nobody lists the leaver: there is nothing to rewrite.
      for (const network of networks) if (network !== DEFAULT_NETWORK) this.refreshHosts(network);
    });
    removeContainerDir(this.stateDir, containerId);
  }

  /**
   * After container `containerId` was renamed (its row already says so): its own hosts file
   * and those of its peers on every network it is on name it anew.
   */
  renamed(containerId: string, name: string): void {
    const record = readRecord(this.stateDir, containerId);
    if (!record) return;
    writeRecord(this.stateDir, { ...record, name });
    this.store.write(() => {
      for (const network of this.store.networksOf(containerId)) this.refreshHosts(network, containerId);
    });
  }

  private attachBridge(what: string, base: EndpointRecord, options: AttachOptions): Attachment {
    const networkName = options.network === '' ? DEFAULT_NETWORK : options.network;
    if (networkName === DEFAULT_NETWORK) this.ensureDefault();
    const net = this.store.get(networkName);
    if (!net)
      throw new NotFound(`${what}: no such network \`${networkName}\``, { code: 'NETWORK_NOT_FOUND' });
    const subnet = parseSubnet(net.subnet);
    const requested = checkPorts(options.ports ?? []);

    const { ip, mac } = this.store.write(() => {
      const used = new Set(this.store.usedIps(net.name).map((s) => parseIp(s)!));
      const last = readLastAddress(this.stateDir, net.name);
      const addr = freeAddress(subnet, used, last === undefined ? undefined : parseIp(last));
      if (addr === undefined)
        throw new FailedPrecondition(`${what}: no free address in ${net.subnet} (network \`${net.name}\`)`);
      const e = { ip: formatIp(addr), mac: macFor(addr) };
      writeLastAddress(this.stateDir, net.name, e.ip);
      this.store.insertEndpoint({
        container_id: base.containerId,
        network: net.name,
        ip: e.ip,
        mac: e.mac,
        aliases: JSON.stringify(base.aliases),
      });
      return e;
    });

    const record: EndpointRecord = { ...base, network: net.name, ip, ports: resolvePorts(what, requested) };
    writeRecord(this.stateDir, record);
    this.link(what, net, { containerId: base.containerId, mac, ip, script: 'netns.ip' });
    if (record.ports.length > 0) this.publish(what, record, requested);
    const join = this.joinContext(what);
    for (const e of options.extra ?? []) joinNetwork(join, what, record, e);

    const hostsFile = hostsPath(this.stateDir, base.containerId);
    const resolvConf = resolvConfPath(this.stateDir, base.containerId);
    writeInPlace(resolvConf, renderResolvConf(readHostFile('/etc/resolv.conf')));
    this.store.write(() => {
      this.refreshHosts(net.name, base.containerId);
      for (const e of record.extra ?? []) this.refreshHosts(e.network, base.containerId);
    });
    return {
      mode: 'bridge',
      netnsPath: netnsPath(base.containerId),
      ip,
      gateway: net.gateway,
      mac,
      network: net.name,
      ports: record.ports,
      hostsFile,
      resolvConf,
    };
  }

  /** What joining a further network needs of this manager (extra-networks.ts). */
  private joinContext(what: string): JoinContext {
    return {
      store: this.store,
      stateDir: this.stateDir,
      reserved: new Set([DEFAULT_NETWORK, ...RESERVED]),
      link: (net, c) => this.link(what, net, { ...c, script: `netns-${c.index}.ip` }),
    };
  }

  /**
   * `network connect` of a running container: `e.network` joins as one more veth in its
   * netns, and the hosts file of every container on that network (its own included) is
   * rewritten, so its name and aliases resolve there at once.
   */
  connect(containerId: string, e: FurtherNetwork): void {
    const what = `connect \`${containerId.slice(0, 12)}\` to network \`${e.network}\``;
    const record = this.attachedRecord(what, containerId);
    joinNetwork(this.joinContext(what), what, record, e);
    this.store.write(() => this.refreshHosts(e.network, containerId));
  }

  /** `network disconnect` of a running container from one of its further networks. */
  disconnect(containerId: string, network: string): void {
    const what = `disconnect \`${containerId.slice(0, 12)}\` from network \`${network}\``;
    const record = this.attachedRecord(what, containerId);
    leaveNetwork(this.joinContext(what), what, record, network);
    this.store.write(() => {
      // The peers forget it; its own file loses that network's peers.
      this.refreshHosts(network);
      this.refreshHosts(record.network!, containerId);
    });
  }

  private attachedRecord(what: string, containerId: string): EndpointRecord {
    const record = readRecord(this.stateDir, containerId);
    if (!record) throw new FailedPrecondition(`${what}: the container is not attached to a network`);
    if (record.mode !== 'bridge')
      throw new FailedPrecondition(
        `${what}: the container uses the \`${record.mode}\` network, which joins no other`,
      );
    return record;
  }

  /** The network's bridge (made when missing) and the container's veth on it, with its address. */
  private link(
    what: string,
    net: { name: string; bridge: string; subnet: string; gateway: string },
    c: { containerId: string; mac: string; ip: string; script: string; index?: number },
  ): void {
    const subnet = parseSubnet(net.subnet);
    const bridge = {
      bridge: net.bridge,
      mac: macFor(gatewayOf(subnet)),
      gatewayCidr: `${net.gateway}/${subnet.prefix}`,
    };
    if (ensureBridge(what, bridge)) syncRules(what, this.table, this.bridgeRules());
    createEndpoint(what, {
      containerId: c.containerId,
      bridge: net.bridge,
      mac: c.mac,
      ipCidr: `${c.ip}/${subnet.prefix}`,
      gateway: net.gateway,
      scriptFile: path.join(containerDir(this.stateDir, c.containerId), c.script),
      index: c.index,
    });
  }

  /**
   * This container's port elements, one nft transaction. A random port another container took
   * between our pick and the commit is picked again; an explicit one is an error. A missing
   * table (deleted behind our back) is rebuilt once.
   */
  private publish(what: string, record: EndpointRecord, requested: readonly PortMapping[]): void {
    let rebuilt = false;
    for (let attempt = 0; ; attempt++) {
      const { taken, noTable } = addPorts(what, this.table, record.ports, record.ip!);
      if (noTable && !rebuilt) {
        syncRules(what, this.table, this.bridgeRules());
        rebuilt = true;
        continue;
      }
      if (taken.length === 0 && !noTable) return;
      if (noTable)
        throw new FailedPrecondition(`${what}: nft table \`${this.table}\` vanished while publishing ports`);
      const explicit = taken.find((m) => requested[record.ports.indexOf(m)]?.hostPort !== 0);
      if (explicit || attempt >= 4) {
        throw new AlreadyExists(
          `publish \`${formatMapping(explicit ?? taken[0]!)}\`: port is already allocated`,
        );
      }
      record.ports = resolvePorts(what, requested);
      writeRecord(this.stateDir, record);
    }
  }

  private bridgeRules(except?: string): BridgeRule[] {
    return this.store
      .all()
      .filter((n) => n.name !== except)
      .map((n) => ({ bridge: n.bridge, subnet: n.subnet }));
  }

  /**
   * Rewrites the hosts file of every container on `network`; call inside a write transaction.
   * On the default network containers do not resolve each other by name (as with Docker's
   * default bridge), so only `joining`'s own file is written: attaching stays O(1) however
   * many containers share it, instead of rewriting every peer's file.
   */
  private refreshHosts(network: string, joining?: string): void {
    const rows = this.store.endpointsOn(network);
    const peers = network !== DEFAULT_NETWORK;
    for (const row of rows) {
      if (!peers && row.container_id !== joining) continue;
      const record = readRecord(this.stateDir, row.container_id);
      if (!record) continue; // mid-attach in another process: that attach writes its file itself
      // A container on several networks sees the peers of each; its first network comes first.
      const networks = record.extra?.length
        ? [record.network!, ...record.extra.map((e) => e.network)]
        : [network];
      const self: HostEntry = {
        ip: record.ip ?? row.ip,
        names: [record.hostname, record.name, ...record.aliases],
      };
      const others = networks
        .filter((n) => n !== DEFAULT_NETWORK)
        .flatMap((n) => (n === network ? rows : this.store.endpointsOn(n)))
        .filter((r) => peers && r.container_id !== row.container_id)
        .map((r) => ({ ip: r.ip, names: [r.name, ...(JSON.parse(r.aliases) as string[])] }));
      try {
        writeInPlace(hostsPath(this.stateDir, row.container_id), renderHosts(self, others));
      } catch (err) {
        if (errnoCode(err) !== 'ENOENT') throw err;
      }
    }
  }

  private hasLeftovers(containerId: string): boolean {
    return (
      hasState(this.stateDir, containerId) ||
      this.store.networksOf(containerId).length > 0 ||
      fs.existsSync(netnsPath(containerId)) ||
      linkExists(vethName(containerId))
    );
  }

  /** The default network's row, made on first use. */
  private ensureDefault(): void {
    if (this.store.get(DEFAULT_NETWORK)) return;
    this.store.write(() => {
      if (!this.store.get(DEFAULT_NETWORK))
        this.insertNetwork('create network `bridge`', DEFAULT_NETWORK, undefined);
    });
  }

  /** Inside a write transaction: picks subnet and bridge name and inserts the row. */
  private insertNetwork(
    what: string,
    name: string,
    wanted: Subnet | undefined,
    labels: Record<string, string> = {},
  ): NetworkRow {
    const row = planNetwork(what, name, {
      existing: this.store.all(),
      wanted,
      pool: this.pool,
      bridgePrefix: this.bridgePrefix,
    });
    const labelled = { ...row, labels: JSON.stringify(labels) };
    this.store.insert(labelled);
    return labelled;
  }

  private info(row: NetworkRow): NetworkInfo {
    return {
      name: row.name,
      id: row.id,
      driver: 'bridge',
      bridge: row.bridge,
      subnet: row.subnet,
      gateway: row.gateway,
      created: row.created,
      labels: JSON.parse(row.labels ?? '{}') as Record<string, string>,
      containers: this.store
        .endpointsOn(row.name)
        .map((e) => ({ id: e.container_id, name: e.name, ip: e.ip, mac: e.mac })),
    };
  }
}
