/**
 * The Deploy verbs as `--help` shows them and deploy-commands.ts parses them; listed by
 * commands.ts. No engine code here.
 */
import type { CommandSpec, FlagSpec } from './args.js';

const FORMAT_TEXT_JSON: FlagSpec = {
  name: 'format',
  kind: 'string',
  value: 'text|json',
  help: 'json: every field',
};

const STOP_TIMEOUT: FlagSpec = {
  name: 'stop-timeout',
  kind: 'string',
  value: 'SECONDS',
  help: 'how long an old replica has to stop before SIGKILL',
};

const KEEP_WARM: FlagSpec = {
  name: 'keep-warm',
  kind: 'string',
  value: 'DURATION',
  help: 'the old release stays up, drained (default 10m; 0: stop it)',
};

const PROJECT_FILE: FlagSpec = {
  name: 'file',
  short: 'f',
  kind: 'string',
  value: 'FILE',
  help: 'the project file (default skiff.yaml or compose.yaml here)',
};

export const DEPLOY: CommandSpec = {
  name: 'deploy',
  synopsis: '[OPTIONS] [SERVICE IMAGE [-- COMMAND...]]',
  summary: 'a release: start, wait ready, switch traffic, stop the old',
  details:
    'Without SERVICE IMAGE: every service of the project file (skiff.yaml, compose.yaml, or -f FILE),\n' +
    'dependencies first. A compose file is checked whole first: what skiff cannot do is refused\n' +
    'with its line, before anything starts.',
  flags: [
    { name: 'replicas', kind: 'string', value: 'N', help: 'how many to run (default 1)' },
    {
      name: 'port',
      kind: 'string',
      value: '[IP:]PORT[:CONTAINER_PORT]',
      help: 'HAProxy listens on PORT, the replicas on CONTAINER_PORT',
    },
    { name: 'health', kind: 'string', value: 'PATH', help: 'an HTTP path that answers 2xx when ready' },
    {
      name: 'health-timeout',
      kind: 'string',
      value: 'DURATION',
      help: 'how long to wait for ready (default 30s)',
    },
    {
      name: 'drain',
      kind: 'string',
      value: 'DURATION',
      help: 'old replicas finish their requests this long (default 5s)',
    },
    {
      name: 'env',
      short: 'e',
      kind: 'list',
      value: 'NAME[=VALUE]',
      help: "a variable (NAME alone: this environment's)",
    },
    { name: 'env-file', kind: 'list', value: 'FILE', help: 'variables from a file, NAME=VALUE a line' },
    { name: 'network', kind: 'string', value: 'NETWORK', help: 'the replicas join it (default services)' },
    { name: 'volume', short: 'v', kind: 'list', value: 'SOURCE:DEST[:ro]', help: 'mount it in each replica' },
    { name: 'message', short: 'm', kind: 'string', value: 'MESSAGE', help: "the release's message" },
    STOP_TIMEOUT,
    KEEP_WARM,
    PROJECT_FILE,
  ],
};

export const DOWN: CommandSpec = {
  name: 'down',
  synopsis: '[OPTIONS]',
  summary: "remove the project's services and networks",
  flags: [PROJECT_FILE, { name: 'volumes', short: 'v', kind: 'boolean', help: 'its named volumes too' }],
};

export const RELEASES: CommandSpec = {
  name: 'releases',
  synopsis: '[OPTIONS] SERVICE',
  summary: 'the release history, newest first',
  flags: [FORMAT_TEXT_JSON],
};

export const DIFF: CommandSpec = {
  name: 'diff',
  synopsis: '[OPTIONS] SERVICE FROM TO',
  summary: 'what changed between two releases: image, files, env, ports',
  flags: [FORMAT_TEXT_JSON],
};

export const ROLLBACK: CommandSpec = {
  name: 'rollback',
  synopsis: '[OPTIONS] SERVICE',
  summary: 'traffic back on the previous release',
  details:
    "Within the old release's --keep-warm window it still runs, drained, and a rollback is a switch of\n" +
    'traffic; after it, its containers are started again first.',
  flags: [
    { name: 'to', kind: 'string', value: 'RELEASE', help: 'this release, not the previous one' },
    STOP_TIMEOUT,
    KEEP_WARM,
  ],
};

export const SERVICES: CommandSpec = {
  name: 'services',
  synopsis: '[OPTIONS]',
  summary: 'every service, its live release and replicas ready',
  flags: [{ name: 'format', kind: 'string', value: 'table|json', help: 'json: every field' }],
};

export const SERVICE_RM: CommandSpec = {
  name: 'service rm',
  synopsis: '[OPTIONS] SERVICE...',
  summary: "remove a service's containers, servers and history",
  flags: [{ name: 'force', short: 'f', kind: 'boolean', help: "docker's; skiff never asks" }],
};

export const DEPLOY_COMMANDS: readonly CommandSpec[] = [
  DEPLOY,
  DOWN,
  RELEASES,
  DIFF,
  ROLLBACK,
  SERVICES,
  SERVICE_RM,
];
