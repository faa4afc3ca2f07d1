/**
 * `skiff network …` and `skiff volume …` as `--help` shows them and network-commands.ts parses
 * them; listed under Containers by commands.ts. No engine code here.
 */
import type { CommandSpec, FlagSpec } from './args.js';
import { PRUNE_FLAGS } from './container-flags.js';

const LS_FLAGS: readonly FlagSpec[] = [
  { name: 'format', kind: 'string', value: 'table|json', help: 'json: every field' },
  { name: 'quiet', short: 'q', kind: 'boolean', help: 'only their names' },
];

export const NETWORK_CREATE: CommandSpec = {
  name: 'network create',
  synopsis: '[OPTIONS] NAME',
  summary: 'a user network: containers on it find each other by name',
  flags: [
    { name: 'subnet', kind: 'string', value: 'CIDR', help: 'its addresses (default a free /24)' },
    { name: 'driver', short: 'd', kind: 'string', value: 'bridge', help: 'the one driver skiff has' },
    { name: 'label', short: 'l', kind: 'list', value: 'KEY=VALUE', help: 'a label (repeatable)' },
  ],
};

export const NETWORK_LS: CommandSpec = {
  name: 'network ls',
  synopsis: '[OPTIONS]',
  summary: 'list networks',
  flags: LS_FLAGS,
  aliases: ['list'],
};

export const NETWORK_INSPECT: CommandSpec = {
  name: 'network inspect',
  synopsis: 'NETWORK...',
  summary: 'JSON of networks',
  flags: [],
};

export const NETWORK_RM: CommandSpec = {
  name: 'network rm',
  synopsis: '[OPTIONS] NETWORK...',
  summary: 'remove networks no container is on',
  flags: [{ name: 'force', short: 'f', kind: 'boolean', help: "docker's; one in use is still refused" }],
  aliases: ['remove'],
};

export const NETWORK_CONNECT: CommandSpec = {
  name: 'network connect',
  synopsis: '[OPTIONS] NETWORK CONTAINER',
  summary: 'put a container on one more network, running or not',
  flags: [
    { name: 'alias', kind: 'list', value: 'NAME', help: 'another name of it there' },
    { name: 'ip', kind: 'string', value: 'ADDRESS', help: 'its address there' },
  ],
};

export const NETWORK_DISCONNECT: CommandSpec = {
  name: 'network disconnect',
  synopsis: '[OPTIONS] NETWORK CONTAINER',
  summary: 'take a container off a network',
  flags: [{ name: 'force', short: 'f', kind: 'boolean', help: 'no error when it is not on it' }],
};

export const NETWORK_PRUNE: CommandSpec = {
  name: 'network prune',
  synopsis: '[OPTIONS]',
  summary: 'remove the user networks no container is on',
  flags: PRUNE_FLAGS,
};

export const VOLUME_CREATE: CommandSpec = {
  name: 'volume create',
  synopsis: '[OPTIONS] NAME',
  summary: 'a named volume (run -v NAME:/path)',
  flags: [{ name: 'label', short: 'l', kind: 'list', value: 'KEY=VALUE', help: 'a label (repeatable)' }],
};

export const VOLUME_LS: CommandSpec = {
  name: 'volume ls',
  synopsis: '[OPTIONS]',
  summary: 'list volumes',
  flags: LS_FLAGS,
  aliases: ['list'],
};

export const VOLUME_INSPECT: CommandSpec = {
  name: 'volume inspect',
  synopsis: 'VOLUME...',
  summary: 'JSON of volumes',
  flags: [],
};

export const VOLUME_RM: CommandSpec = {
  name: 'volume rm',
  synopsis: '[OPTIONS] VOLUME...',
  summary: 'remove volumes and their data',
  flags: [{ name: 'force', short: 'f', kind: 'boolean', help: 'one a container names too' }],
  aliases: ['remove'],
};

export const VOLUME_PRUNE: CommandSpec = {
  name: 'volume prune',
  synopsis: '[OPTIONS]',
  summary: 'remove the volumes no container names',
  flags: PRUNE_FLAGS,
};

export const NETWORK_COMMANDS: readonly CommandSpec[] = [
  NETWORK_CREATE,
  NETWORK_LS,
  NETWORK_INSPECT,
  NETWORK_RM,
  NETWORK_CONNECT,
  NETWORK_DISCONNECT,
  NETWORK_PRUNE,
  VOLUME_CREATE,
  VOLUME_LS,
  VOLUME_INSPECT,
  VOLUME_RM,
  VOLUME_PRUNE,
];
