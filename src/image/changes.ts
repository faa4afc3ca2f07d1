/**
 * `--change` instructions for import (docker import -c): a subset of Dockerfile instructions
 * that only change the config.
 */
import type { ContainerConfig } from '../oci/config.js';
import { InvalidArgument } from '../util/errors.js';

export function applyChange(config: ContainerConfig, change: string): void {
  const match = /^\s*(\w+)\s+(.*)$/s.exec(change);
  if (!match) throw new InvalidArgument(`apply change \`${change}\`: expected "INSTRUCTION arguments"`);
  const instruction = match[1]!.toUpperCase();
  const args = match[2]!.trim();
  switch (instruction) {
    case 'CMD':
      config.Cmd = commandForm(args, change);
      return;
    case 'ENTRYPOINT':
      config.Entrypoint = commandForm(args, change);
      return;
    case 'ENV':
      for (const [key, value] of pairs(args, change)) {
        config.Env = (config.Env ?? []).filter((e) => !e.startsWith(`${key}=`)).concat(`${key}=${value}`);
      }
      return;
    case 'LABEL':
      for (const [key, value] of pairs(args, change)) config.Labels = { ...config.Labels, [key]: value };
      return;
    case 'WORKDIR':
      config.WorkingDir = args;
      return;
    case 'USER':
      config.User = args;
      return;
    case 'STOPSIGNAL':
      config.StopSignal = args;
      return;
    case 'EXPOSE':
      for (const port of args.split(/\s+/)) {
        if (!/^\d+(?:\/(?:tcp|udp|sctp))?$/.test(port))
          throw new InvalidArgument(`apply change \`${change}\`: invalid port \`${port}\``);
        config.ExposedPorts = { ...config.ExposedPorts, [port.includes('/') ? port : `${port}/tcp`]: {} };
      }
      return;
    case 'VOLUME':
      for (const volume of commandForm(args, change, false))
        config.Volumes = { ...config.Volumes, [volume]: {} };
      return;
    default:
      throw new InvalidArgument(`apply change \`${change}\`: ${instruction} cannot be changed on import`);
  }
}

function commandForm(args: string, change: string, shell = true): string[] {
  if (args.startsWith('[')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(args);
    } catch {
      throw new InvalidArgument(`apply change \`${change}\`: invalid JSON array`);
    }
    if (!Array.isArray(parsed) || !parsed.every((a) => typeof a === 'string')) {
      throw new InvalidArgument(`apply change \`${change}\`: expected a JSON array of strings`);
    }
    return parsed as string[];
  }
  return shell ? ['/bin/sh', '-c', args] : args.split(/\s+/);
}

function pairs(args: string, change: string): [string, string][] {
  if (!args.includes('=')) {
    const space = args.search(/\s/);
    if (space < 0) throw new InvalidArgument(`apply change \`${change}\`: expected KEY=VALUE`);
    return [[args.slice(0, space), args.slice(space).trim()]];
  }
  const out: [string, string][] = [];
  for (const m of args.matchAll(/([^\s=]+)=("(?:[^"\\]|\\.)*"|\S*)/g)) {
    const raw = m[2]!;
    out.push([m[1]!, raw.startsWith('"') ? (JSON.parse(raw) as string) : raw]);
  }
  return out;
}
