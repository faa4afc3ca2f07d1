/**
 * What an attach did, kept beside the container's hosts and resolv.conf files in
 * `<stateDir>/containers/<id>/`. It is written before any kernel object exists, so a detach
 * after a crash knows which port elements to remove; and it holds the container's hostname,
 * needed to rewrite its hosts file when a neighbour comes or goes.
 *
 * Written to a temp name and renamed, without fsync: it describes namespaces, links and nft
 * elements, none of which survive a machine crash either.
 */
import fs from 'node:fs';
import path from 'node:path';
import { tempName } from '../../util/atomic.js';
import type { PortMapping } from './publish.js';

export interface EndpointRecord {
  containerId: string;
  mode: 'host' | 'none' | 'bridge';
  network?: string;
  ip?: string;
  name: string;
  hostname: string;
  aliases: string[];
  /** With host ports resolved (never 0). */
  ports: PortMapping[];
  /**
   * The networks joined besides `network`, in the order joined; each is `eth<index>` (records
   * written before indexes were kept: the position + 1).
   */
  extra?: { network: string; ip?: string; aliases: string[]; index?: number }[];
}

export function containerDir(stateDir: string, containerId: string): string {
  return path.join(stateDir, 'containers', containerId);
}

export function hostsPath(stateDir: string, containerId: string): string {
  return path.join(containerDir(stateDir, containerId), 'hosts');
}

export function resolvConfPath(stateDir: string, containerId: string): string {
  return path.join(containerDir(stateDir, containerId), 'resolv.conf');
}

function recordPath(stateDir: string, containerId: string): string {
  return path.join(containerDir(stateDir, containerId), 'endpoint.json');
}

export function writeRecord(stateDir: string, record: EndpointRecord): void {
  const dir = containerDir(stateDir, record.containerId);
  fs.mkdirSync(dir, { recursive: true });
  const tmp = tempName(dir, '.tmp-');
  fs.writeFileSync(tmp, JSON.stringify(record) + '\n');
  fs.renameSync(tmp, recordPath(stateDir, record.containerId));
}

/** The record, or undefined when there is none or it is unreadable (a torn write is no record). */
export function readRecord(stateDir: string, containerId: string): EndpointRecord | undefined {
  try {
    return JSON.parse(fs.readFileSync(recordPath(stateDir, containerId), 'utf8')) as EndpointRecord;
  } catch {
    return undefined;
  }
}

export function hasState(stateDir: string, containerId: string): boolean {
  return fs.existsSync(containerDir(stateDir, containerId));
}

export function removeContainerDir(stateDir: string, containerId: string): void {
  fs.rmSync(containerDir(stateDir, containerId), { recursive: true, force: true });
}

/**
 * The address last handed out on a network, so the next attach does not reuse it at once. A
 * lost or stale file only means the search starts elsewhere.
 */
export function readLastAddress(stateDir: string, network: string): string | undefined {
  try {
    return fs.readFileSync(path.join(stateDir, 'last-address', network), 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

export function writeLastAddress(stateDir: string, network: string, ip: string | undefined): void {
  const file = path.join(stateDir, 'last-address', network);
  if (ip === undefined) {
    fs.rmSync(file, { force: true });
    return;
  }
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, ip + '\n');
}
