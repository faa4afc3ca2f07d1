/**
 * The Containers verbs as `--help` shows them and the parser reads them: container-commands.ts,
 * process-commands.ts, pause-commands.ts and cp-command.ts parse with these, commands.ts lists
 * them (network-flags.ts has networks and volumes). No engine code here.
 */
import type { CommandSpec, FlagSpec } from './args.js';

/** What run and create both take: the container's whole configuration. */
const CREATE_FLAGS: readonly FlagSpec[] = [
  { name: 'name', kind: 'string', value: 'NAME', help: 'its name (default: a made-up one)' },
  {
    name: 'env',
    short: 'e',
    kind: 'list',
    value: 'NAME[=VALUE]',
    help: "a variable (NAME alone: this environment's)",
  },
  { name: 'env-file', kind: 'list', value: 'FILE', help: 'variables from a file, NAME=VALUE a line' },
  { name: 'workdir', short: 'w', kind: 'string', value: 'DIR', help: 'the working directory inside' },
  { name: 'user', short: 'u', kind: 'string', value: 'USER[:GROUP]', help: 'run as this user (name or id)' },
  {
    name: 'publish',
    short: 'p',
    kind: 'list',
    value: '[IP:][HOST_PORT:]PORT[/udp]',
    help: 'publish a port on the host',
  },
  {
    name: 'volume',
    short: 'v',
    kind: 'list',
    value: 'SOURCE:DEST[:ro]',
    help: 'mount a named volume or a host path',
  },
  { name: 'tmpfs', kind: 'list', value: 'DEST[:OPTIONS]', help: 'mount a tmpfs' },
  {
    name: 'network',
    kind: 'string',
    value: 'NETWORK',
    help: 'bridge (default), none, host or a user network',
  },
  { name: 'net', kind: 'string', value: 'NETWORK', help: "docker's old name of --network", hidden: true },
  { name: 'network-alias', kind: 'list', value: 'NAME', help: 'another name on its user network' },
  { name: 'hostname', short: 'h', kind: 'string', value: 'NAME', help: 'its hostname' },
  {
    name: 'entrypoint',
    kind: 'string',
    value: 'PROGRAM',
    help: 'instead of the image\'s entrypoint ("" for none)',
  },
  { name: 'read-only', kind: 'boolean', help: 'its root filesystem read-only' },
  { name: 'privileged', kind: 'boolean', help: 'every capability and device, no seccomp' },
  { name: 'cap-add', kind: 'list', value: 'CAP', help: 'add a capability (ALL: every one)' },
  { name: 'cap-drop', kind: 'list', value: 'CAP', help: 'drop a capability (ALL: every one)' },
  { name: 'memory', short: 'm', kind: 'string', value: 'SIZE', help: 'memory limit (like 256m)' },
  { name: 'cpus', kind: 'string', value: 'N', help: 'CPU limit (like 0.5)' },
  { name: 'pids-limit', kind: 'string', value: 'N', help: 'at most N processes' },
  { name: 'ulimit', kind: 'list', value: 'NAME=SOFT[:HARD]', help: 'a resource limit (nofile=1024)' },
  {
    name: 'restart',
    kind: 'string',
    value: 'no|always|unless-stopped|on-failure[:N]',
    help: 'restart policy (default no)',
  },
  { name: 'runtime', kind: 'string', value: 'crun|runc', help: 'the OCI runtime (default crun)' },
  { name: 'stop-signal', kind: 'string', value: 'SIGNAL', help: 'what stop sends first (default SIGTERM)' },
  {
    name: 'stop-timeout',
    kind: 'string',
    value: 'SECONDS',
    help: 'how long stop waits before SIGKILL (default 10)',
  },
  { name: 'label', short: 'l', kind: 'list', value: 'KEY[=VALUE]', help: 'a label' },
  { name: 'interactive', short: 'i', kind: 'boolean', help: 'keep stdin open' },
  { name: 'tty', short: 't', kind: 'boolean', help: 'give it a terminal' },
  { name: 'rm', kind: 'boolean', help: 'remove it when it exits' },
  { name: 'health-cmd', kind: 'string', value: 'COMMAND', help: 'health check, run with sh -c' },
  { name: 'health-interval', kind: 'string', value: 'DURATION', help: 'between checks (default 30s)' },
  {
    name: 'health-timeout',
    kind: 'string',
    value: 'DURATION',
    help: 'a longer check fails (default 30s)',
  },
  {
    name: 'health-retries',
    kind: 'string',
    value: 'N',
    help: 'failures in a row to be unhealthy (default 3)',
  },
  {
    name: 'health-start-period',
    kind: 'string',
    value: 'DURATION',
    help: 'failures this early do not count (default 0s)',
  },
  { name: 'no-healthcheck', kind: 'boolean', help: "no health check, not even the image's" },
  {
    name: 'storage-opt',
    kind: 'list',
    value: 'size=SIZE',
    help: 'cap its writable layer (xfs store with prjquota)',
  },
];

export const RUN: CommandSpec = {
  name: 'run',
  synopsis: '[OPTIONS] IMAGE [COMMAND...]',
  summary: "run a container; skiff's exit status is the container's",
  flags: [
    ...CREATE_FLAGS,
    { name: 'detach', short: 'd', kind: 'boolean', help: 'in the background; print its ID' },
  ],
  stopAtPositional: true,
};

export const CREATE: CommandSpec = {
  name: 'create',
  synopsis: '[OPTIONS] IMAGE [COMMAND...]',
  summary: 'a container, ready to start',
  flags: CREATE_FLAGS,
  stopAtPositional: true,
};

export const START: CommandSpec = {
  name: 'start',
  synopsis: '[OPTIONS] CONTAINER...',
  summary: 'start created or stopped containers',
  flags: [
    {
      name: 'attach',
      short: 'a',
      kind: 'boolean',
      help: 'its output here until it exits; its exit status',
    },
    { name: 'interactive', short: 'i', kind: 'boolean', help: "with -a: this terminal's input too" },
  ],
};

const STOP_TIME: FlagSpec = {
  name: 'time',
  short: 't',
  kind: 'string',
  value: 'SECONDS',
  help: 'wait this long before SIGKILL (default its stop timeout)',
};

export const STOP: CommandSpec = {
  name: 'stop',
  synopsis: '[OPTIONS] CONTAINER...',
  summary: 'its stop signal, then SIGKILL if it does not exit',
  flags: [STOP_TIME],
};

export const RESTART: CommandSpec = {
  name: 'restart',
  synopsis: '[OPTIONS] CONTAINER...',
  summary: 'stop containers and start them again',
  flags: [STOP_TIME],
};

export const KILL: CommandSpec = {
  name: 'kill',
  synopsis: '[OPTIONS] CONTAINER...',
  summary: 'send containers a signal',
  flags: [{ name: 'signal', short: 's', kind: 'string', value: 'SIGNAL', help: 'this one (default KILL)' }],
};

export const RM: CommandSpec = {
  name: 'rm',
  synopsis: '[OPTIONS] CONTAINER...',
  summary: 'remove containers',
  flags: [
    { name: 'force', short: 'f', kind: 'boolean', help: 'a running one too (killed first)' },
    { name: 'volumes', short: 'v', kind: 'boolean', help: "docker's; skiff makes no anonymous volumes" },
  ],
};

export const WAIT: CommandSpec = {
  name: 'wait',
  synopsis: 'CONTAINER...',
  summary: 'wait for containers to exit; print their exit statuses',
  flags: [],
};

export const PS: CommandSpec = {
  name: 'ps',
  synopsis: '[OPTIONS]',
  summary: 'list running containers',
  flags: [
    { name: 'all', short: 'a', kind: 'boolean', help: 'stopped and created ones too' },
    { name: 'quiet', short: 'q', kind: 'boolean', help: 'only their IDs' },
    { name: 'format', kind: 'string', value: 'table|json', help: 'json: every field' },
    { name: 'no-trunc', kind: 'boolean', help: 'whole IDs and commands' },
  ],
};

export const LOGS: CommandSpec = {
  name: 'logs',
  synopsis: '[OPTIONS] CONTAINER',
  summary: 'what a container wrote',
  flags: [
    { name: 'follow', short: 'f', kind: 'boolean', help: 'then what it writes, until it exits' },
    { name: 'tail', short: 'n', kind: 'string', value: 'N|all', help: 'only the last N lines' },
    { name: 'timestamps', short: 't', kind: 'boolean', help: 'each line with its time' },
  ],
};

export const EXEC: CommandSpec = {
  name: 'exec',
  synopsis: '[OPTIONS] CONTAINER COMMAND...',
  summary: 'run a command in a running container',
  flags: [
    { name: 'interactive', short: 'i', kind: 'boolean', help: "docker's; stdin is always the command's" },
    { name: 'tty', short: 't', kind: 'boolean', help: 'give it a terminal (when stdin is one)' },
    { name: 'env', short: 'e', kind: 'list', value: 'NAME=VALUE', help: 'a variable (NAME alone unsets it)' },
    { name: 'user', short: 'u', kind: 'string', value: 'USER[:GROUP]', help: 'as this user' },
    { name: 'workdir', short: 'w', kind: 'string', value: 'DIR', help: 'in this directory' },
    // Accepted so docker's scripts parse; the CLI has no detached exec yet (the API's has).
    { name: 'detach', short: 'd', kind: 'boolean', help: "docker's; skiff exec still waits for it" },
  ],
  stopAtPositional: true,
};

export const TOP: CommandSpec = {
  name: 'top',
  synopsis: 'CONTAINER [ps OPTIONS]',
  summary: 'its processes, as ps -ef (or the options given) lists them',
  flags: [],
  stopAtPositional: true,
};

export const STATS: CommandSpec = {
  name: 'stats',
  synopsis: '[OPTIONS] [CONTAINER...]',
  summary: 'CPU, memory, network and block I/O of running containers',
  flags: [
    { name: 'no-stream', kind: 'boolean', help: 'print once, not every second' },
    { name: 'format', kind: 'string', value: 'table|json', help: 'json: one object a line' },
  ],
};

export const RENAME: CommandSpec = {
  name: 'rename',
  synopsis: 'CONTAINER NEW_NAME',
  summary: 'another name; peers on its networks resolve the new one',
  flags: [],
};

export const PAUSE: CommandSpec = {
  name: 'pause',
  synopsis: 'CONTAINER...',
  summary: "freeze running containers' processes",
  flags: [],
};

export const UNPAUSE: CommandSpec = {
  name: 'unpause',
  synopsis: 'CONTAINER...',
  summary: "thaw paused containers' processes",
  flags: [],
};

export const CP: CommandSpec = {
  name: 'cp',
  synopsis: 'CONTAINER:SRC_PATH DEST_PATH | SRC_PATH CONTAINER:DEST_PATH',
  summary: 'copy files out of or into a container, running or not',
  flags: [],
};

/** `--filter` of the prune verbs. */
export const PRUNE_FILTER: FlagSpec = {
  name: 'filter',
  kind: 'list',
  value: 'KEY=VALUE',
  help: 'until=TIME|DURATION, label=K[=V], label!=K[=V]',
};

/** The flags every prune verb takes: docker's `-f`, and `--filter`. */
export const PRUNE_FLAGS: readonly FlagSpec[] = [
  { name: 'force', short: 'f', kind: 'boolean', help: "docker's; skiff never asks" },
  PRUNE_FILTER,
];

export const CONTAINER_PRUNE: CommandSpec = {
  name: 'container prune',
  synopsis: '[OPTIONS]',
  summary: 'remove every stopped container',
  flags: PRUNE_FLAGS,
};

/** conmon's exit command for a detached container: its exit is recorded, its --rm done. */
export const CONTAINER_CLEANUP: CommandSpec = {
  name: 'container cleanup',
  synopsis: 'ID [STARTED]',
  summary: 'record how a detached container ended (run by conmon)',
  flags: [],
  hidden: true,
};

/** The per-host supervisor of health checks and restarts; started on demand. */
export const CONTAINER_SUPERVISE: CommandSpec = {
  name: 'container supervise',
  synopsis: '',
  summary: 'health checks and restart policies (started by skiff)',
  flags: [],
  hidden: true,
};

export const CONTAINER_COMMANDS: readonly CommandSpec[] = [
  RUN,
  CREATE,
  START,
  STOP,
  RESTART,
  KILL,
  RM,
  WAIT,
  PS,
  LOGS,
  EXEC,
  TOP,
  STATS,
  RENAME,
  PAUSE,
  UNPAUSE,
  CP,
  CONTAINER_PRUNE,
  CONTAINER_CLEANUP,
  CONTAINER_SUPERVISE,
];
