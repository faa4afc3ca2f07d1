/**
 * What the OCI spec of a start is made from: the container's options over its image's config,
 * the rootfs mounted for this run, and the network attachment (netns, hosts and resolv.conf).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { ContainerConfig } from '../oci/config.js';
import type { Attachment } from './network/index.js';
import type { ContainerRow, CreateOptions } from './records.js';
import { parseCpus, parseMemory, parseUlimit, type SpecInput } from './spec.js';
import { prepareMounts } from './volumes.js';

export function specInput(parts: {
  row: ContainerRow;
  options: CreateOptions;
  image: ContainerConfig;
  rootfs: string;
  attachment: Attachment;
  storeRoot: string;
  containerDir: string;
}): SpecInput {
  const { row, options: o, image, rootfs, attachment } = parts;
  return {
    id: row.id,
    rootfs,
    image,
    command: o.command && o.command.length > 0 ? o.command : undefined,
    entrypoint: o.entrypoint,
    env: o.env,
    workdir: o.workdir,
    user: o.user,
    tty: o.tty,
    stdin: o.interactive,
    hostname: o.hostname ?? row.id.slice(0, 12),
    readOnly: o.readOnly,
    privileged: o.privileged,
    capAdd: o.capAdd,
    capDrop: o.capDrop,
    memory: o.memory ? parseMemory(o.memory) : undefined,
    cpus: o.cpus ? parseCpus(o.cpus) : undefined,
    pidsLimit: o.pidsLimit,
    ulimits: (o.ulimits ?? []).map(parseUlimit),
    mounts: prepareMounts(parts.storeRoot, o.volumes ?? [], o.tmpfs ?? []),
    network:
      attachment.mode === 'host'
        ? { kind: 'host' }
        : attachment.netnsPath
          ? { kind: 'path', path: attachment.netnsPath }
          : { kind: 'new' },
    files: {
      hosts: attachment.hostsFile,
      resolvConf: attachment.resolvConf,
      hostname: hostnameFile(parts.containerDir, o.hostname ?? row.id.slice(0, 12)),
    },
    cgroupsPath: `/skiff/${row.id}`,
    stopSignal: o.stopSignal ?? image.StopSignal,
    annotations: { 'io.skiff.name': row.name },
  };
}

/** /etc/hostname for the container, bind-mounted like Podman's. */
function hostnameFile(dir: string, hostname: string): string {
  const file = path.join(dir, 'hostname');
  fs.writeFileSync(file, `${hostname}\n`);
  return file;
}
