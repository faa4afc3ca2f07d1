/**
 * The /etc/hosts and /etc/resolv.conf a container sees. Name resolution between containers on a
 * network is these maintained hosts files: every attach and detach rewrites the file of each
 * container on that network. No DNS server process has to live beside the containers.
 */
import fs from 'node:fs';

export interface HostEntry {
  ip: string;
  names: string[];
}

const HEADER = [
  '127.0.0.1\tlocalhost',
  '::1\tlocalhost ip6-localhost ip6-loopback',
  'fe00::0\tip6-localnet',
  'ff00::0\tip6-mcastprefix',
  'ff02::1\tip6-allnodes',
  'ff02::2\tip6-allrouters',
];

/** `self` first (its hostname leads), then the other containers sorted by address. */
export function renderHosts(self: HostEntry | undefined, others: readonly HostEntry[]): string {
  const lines = [...HEADER];
  const line = (e: HostEntry): string => `${e.ip}\t${unique(e.names).join(' ')}`;
  if (self) lines.push(line(self));
  for (const e of [...others].sort((a, b) => compareIp(a.ip, b.ip))) {
    if (e.names.length > 0) lines.push(line(e));
  }
  return lines.join('\n') + '\n';
}

function unique(names: readonly string[]): string[] {
  return [...new Set(names.filter((n) => n !== ''))];
}

function compareIp(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < 4; i++) if (pa[i] !== pb[i]) return pa[i]! - pb[i]!;
  return 0;
}

/**
 * The host's resolver configuration for a container in its own netns: nameservers on loopback
 * (systemd-resolved's 127.0.0.53, a local dnsmasq) are the host's, unreachable from inside, so
 * they are dropped; search and options lines are kept.
 */
export function renderResolvConf(hostText: string): string {
  const out: string[] = [];
  for (const raw of hostText.split('\n')) {
    const line = raw.trim();
    const [key, value] = line.split(/\s+/);
    if (key === 'nameserver' && value !== undefined) {
      if (value.startsWith('127.') || value === '::1') continue;
      out.push(`nameserver ${value}`);
    } else if (key === 'search' || key === 'options' || key === 'domain') {
      out.push(line);
    }
  }
  return out.length > 0 ? out.join('\n') + '\n' : '';
}

export function readHostFile(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/**
 * Replaces the content of `file` keeping its inode: the file is bind-mounted into a running
 * container, and a rename would leave the container looking at the old one. Writes over the
 * old bytes first and truncates after, so a reader never sees an empty file.
 */
export function writeInPlace(file: string, text: string): void {
  const data = Buffer.from(text);
  const fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_CREAT, 0o644);
  try {
    fs.writeSync(fd, data, 0, data.length, 0);
    fs.ftruncateSync(fd, data.length);
  } finally {
    fs.closeSync(fd);
  }
}
