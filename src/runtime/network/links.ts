/**
 * Kernel network objects through `ip -batch`: bridges, a container's network namespace, and the
 * veth pair joining them. Names derive from the container ID alone, so a detach after a crash
 * finds everything without any record: netns `skiff-<12hex>`, host end `skv<12hex>` (15 chars,
 * IFNAMSIZ), container end `eth0`; a second network's pair is `sk1<12hex>` and `eth1`, and so on.
 */
import fs from 'node:fs';
import { failedLines, mustRun, oneLine, runTool, toolPath } from './tools.js';
import { umount, UmountFlags } from '../../sys/mount.js';
import { FailedPrecondition, errnoCode } from '../../util/errors.js';

export const NETNS_DIR = '/run/netns';

export function netnsName(containerId: string): string {
  return `skiff-${containerId.slice(0, 12)}`;
}

export function netnsPath(containerId: string): string {
  return `${NETNS_DIR}/${netnsName(containerId)}`;
}

/** The host end of the container's `eth<index>`: `skv<12hex>` for eth0, `sk<index><12hex>` for the others. */
export function vethName(containerId: string, index = 0): string {
  return `${index === 0 ? 'skv' : `sk${index}`}${containerId.slice(0, 12)}`;
}

/** Most networks one container can join: the index is one character of a 15-character name. */
export const MAX_NETWORKS = 10;

export function linkExists(name: string): boolean {
  return fs.existsSync(`/sys/class/net/${name}`);
}

export interface BridgeSpec {
  bridge: string;
  mac: string;
  /** "10.89.0.1/24" */
  gatewayCidr: string;
}

/**
 * Creates the bridge if it is missing; true if it did. Two attaches may race to create it: "File exists" is
 * success. The MAC is set explicitly so it does not follow the lowest port's MAC as containers
 * come and go (each change would leave containers with a stale gateway in their ARP cache).
 */
export function ensureBridge(what: string, spec: BridgeSpec): boolean {
  if (linkExists(spec.bridge)) return false;
  const script = [
    `link add ${spec.bridge} address ${spec.mac} type bridge`,
    `addr add ${spec.gatewayCidr} dev ${spec.bridge}`,
    `link set ${spec.bridge} up`,
  ];
  const r = runTool('ip', ['-force', '-batch', '-'], script.join('\n') + '\n');
  if (
    r.status !== 0 &&
    !(failedLines(r.stderr).size > 0 && /File exists/.test(r.stderr) && linkExists(spec.bridge))
  ) {
    throw new FailedPrecondition(`${what}: ip: ${oneLine(r.stderr)}`);
  }
  // 127.0.0.1:port is DNATed to a container behind this bridge: the kernel drops packets with
  // a loopback source on a non-loopback device unless route_localnet allows it.
  writeSysctl(`/proc/sys/net/ipv4/conf/${spec.bridge}/route_localnet`, '1');
  writeSysctl('/proc/sys/net/ipv4/ip_forward', '1');
  return true;
}

function writeSysctl(file: string, value: string): void {
  try {
    if (fs.readFileSync(file, 'utf8').trim() === value) return;
    fs.writeFileSync(file, value);
  } catch (err) {
    throw new FailedPrecondition(`write \`${file}\`: ${(err as Error).message}`, { cause: err });
  }
}

/** Removes a bridge; a missing one is fine. */
export function deleteBridge(what: string, bridge: string): void {
  if (!linkExists(bridge)) return;
  const r = runTool('ip', ['-batch', '-'], `link del ${bridge}\n`);
  if (r.status !== 0 && linkExists(bridge)) throw new FailedPrecondition(`${what}: ip: ${oneLine(r.stderr)}`);
}

export interface EndpointSpec {
  containerId: string;
  bridge: string;
  mac: string;
  /** "10.89.0.2/24" */
  ipCidr: string;
  gateway: string;
  /** A file for the commands run inside the netns (the container's state directory). */
  scriptFile: string;
  /**
   * 0 makes the netns and eth0 with the default route; a later network joins the same netns
   * as `eth<index>`, its own subnet reached through it and nothing else.
   */
  index?: number;
}

/**
 * Netns, veth pair on the bridge (hairpin on, so a container reaches its own published port
 * through the host's address), addresses and routes: one `ip` process. `ip -batch` has no
 * per-line namespace switch, so the last line forks a second `ip` inside the netns with
 * `netns exec`; a fork of the small `ip` is cheaper than a second spawn from Node.
 */
export function createEndpoint(what: string, spec: EndpointSpec): void {
  const index = spec.index ?? 0;
  const ns = netnsName(spec.containerId);
  const veth = vethName(spec.containerId, index);
  const dev = `eth${index}`;
  fs.writeFileSync(
    spec.scriptFile,
    [
      ...(index === 0 ? ['link set lo up'] : []),
      `addr add ${spec.ipCidr} dev ${dev}`,
      `link set ${dev} up`,
      ...(index === 0 ? [`route add default via ${spec.gateway} dev eth0`] : []),
    ].join('\n') + '\n',
  );
  mustRun(
    what,
    'ip',
    ['-batch', '-'],
    [
      ...(index === 0 ? [`netns add ${ns}`] : []),
      `link add ${veth} master ${spec.bridge} up type veth peer name ${dev} address ${spec.mac} netns ${ns}`,
      `link set ${veth} type bridge_slave hairpin on`,
      `netns exec ${ns} ${toolPath('ip')} -batch ${spec.scriptFile}`,
    ].join('\n') + '\n',
  );
}

/** A netns with only `lo`, up: `--network none`. */
export function createIsolated(what: string, containerId: string): void {
  const ns = netnsName(containerId);
  mustRun(
    what,
    'ip',
    ['-batch', '-'],
    `netns add ${ns}\nnetns exec ${ns} ${toolPath('ip')} link set lo up\n`,
  );
}

/**
 * Unmounts and unlinks the netns file, in-process. With its last reference gone the kernel
 * tears the namespace down in the background, eth0 and so the veth pair with it: no process,
 * and no wait for the RCU grace periods an explicit `ip link del` costs (~20 ms here). A veth
 * that outlives its netns file (a restart racing that teardown, a half-done attach) is deleted
 * explicitly. Missing pieces are fine.
 */
export function deleteEndpoint(what: string, containerId: string, networks = 1): void {
  const nsFile = netnsPath(containerId);
  if (fs.existsSync(nsFile)) {
    try {
      umount(nsFile, UmountFlags.DETACH);
    } catch (err) {
      // EINVAL: not a mount point (`ip netns add` killed between creat and bind mount).
      if (errnoCode(err) !== 'EINVAL' && errnoCode(err) !== 'ENOENT') throw err;
    }
    fs.rmSync(nsFile, { force: true });
    return;
  }
  for (let index = 0; index < networks; index++) deleteLink(what, containerId, index);
}

/**
 * Removes the container's `eth<index>` by deleting its host end (the kernel removes the pair):
 * leaving one network while the container keeps the others. A missing link is fine.
 */
export function deleteLink(what: string, containerId: string, index: number): void {
  const veth = vethName(containerId, index);
  if (!linkExists(veth)) return;
  const r = runTool('ip', ['-batch', '-'], `link del ${veth}\n`);
  if (r.status !== 0 && linkExists(veth)) throw new FailedPrecondition(`${what}: ip: ${oneLine(r.stderr)}`);
}
