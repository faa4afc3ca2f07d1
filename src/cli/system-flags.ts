/**
 * The System verbs as `--help` shows them and system-commands.ts, disk-usage-command.ts and
 * events-command.ts parse them; listed by commands.ts. No engine code here.
 */
import type { CommandSpec } from './args.js';

export const SYSTEM_CHECK: CommandSpec = {
  name: 'system check',
  synopsis: '[OPTIONS]',
  summary: 'verify every blob, layer and reference; exit 1 on damage',
  flags: [{ name: 'format', kind: 'string', value: 'text|json', help: 'json: the whole report' }],
};

export const SYSTEM_PRUNE: CommandSpec = {
  name: 'system prune',
  synopsis: '[OPTIONS]',
  summary: 'remove untagged images, unreferenced data and temp files',
  flags: [
    { name: 'force', short: 'f', kind: 'boolean', help: "docker's; skiff never asks" },
    { name: 'all', short: 'a', kind: 'boolean', help: "docker's; tagged images always stay" },
  ],
};

export const SYSTEM_RESET: CommandSpec = {
  name: 'system reset',
  synopsis: '-f',
  summary: 'remove all: containers, networks, volumes, images, the store',
  flags: [{ name: 'force', short: 'f', kind: 'boolean', help: 'required: yes, all of it' }],
};

export const SYSTEM_BOOT: CommandSpec = {
  name: 'system boot',
  synopsis: '',
  summary: 'start containers whose restart policy wants them running',
  details: 'Run at boot (contrib/systemd/skiff-boot.service); deployed services get HAProxy back.',
  flags: [],
};

export const SYSTEM_INFO: CommandSpec = {
  name: 'system info',
  synopsis: '[OPTIONS]',
  summary: 'the store, the runtime, where each program skiff runs is',
  flags: [
    { name: 'format', kind: 'string', value: 'text|json', help: 'json: every field' },
    { name: 'runtime', kind: 'string', value: 'crun|runc', help: 'the runtime to describe (default crun)' },
  ],
};

export const SYSTEM_DF: CommandSpec = {
  name: 'system df',
  synopsis: '[OPTIONS]',
  summary: 'disk used by images, containers, volumes; what prune frees',
  flags: [
    { name: 'format', kind: 'string', value: 'table|json', help: 'json: every image, container, volume' },
  ],
};

export const SYSTEM_SERVICE: CommandSpec = {
  name: 'system service',
  synopsis: '[OPTIONS] [unix://PATH | tcp://HOST:PORT]',
  summary: 'the Docker Engine API, on a unix socket by default',
  details:
    'Serves until SIGTERM or SIGINT, on unix:///run/skiff/docker.sock unless told otherwise;\n' +
    'docs/docker-api.md lists what works. tcp:// needs --tls-cert, --tls-key and --tls-ca: a client\n' +
    'without a certificate that CA signed could run privileged containers.',
  flags: [
    {
      name: 'time',
      short: 't',
      kind: 'string',
      value: 'SECONDS',
      help: 'exit after this long idle (default 0: never)',
    },
    { name: 'tls-cert', kind: 'string', value: 'FILE', help: "tcp://: the server's certificate (PEM)" },
    { name: 'tls-key', kind: 'string', value: 'FILE', help: 'tcp://: its private key (PEM)' },
    { name: 'tls-ca', kind: 'string', value: 'FILE', help: "tcp://: the CA of clients' certificates (PEM)" },
  ],
};

export const EVENTS: CommandSpec = {
  name: 'events',
  synopsis: '[OPTIONS]',
  summary: 'what happened in the store, then follow it',
  flags: [
    {
      name: 'since',
      kind: 'string',
      value: 'TIME',
      help: 'from this time: RFC 3339, Unix seconds, or ago (10m)',
    },
    { name: 'until', kind: 'string', value: 'TIME', help: 'up to this time, then exit' },
    {
      name: 'filter',
      short: 'f',
      kind: 'list',
      value: 'KEY=VALUE',
      help: 'only these (type=container, event=start, …)',
    },
    { name: 'format', kind: 'string', value: 'text|json', help: "json: docker's event objects" },
  ],
};

export const VERSION: CommandSpec = {
  name: 'version',
  synopsis: '',
  summary: "skiff's version",
  flags: [],
};

export const HELP: CommandSpec = {
  name: 'help',
  synopsis: '[COMMAND]',
  summary: "this overview, or a command's options (as COMMAND --help)",
  flags: [],
};

export const SYSTEM_COMMANDS: readonly CommandSpec[] = [
  SYSTEM_CHECK,
  SYSTEM_PRUNE,
  SYSTEM_RESET,
  SYSTEM_BOOT,
  SYSTEM_INFO,
  SYSTEM_DF,
  SYSTEM_SERVICE,
  EVENTS,
  VERSION,
  HELP,
];
