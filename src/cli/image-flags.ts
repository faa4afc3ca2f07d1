/**
 * The Images verbs as `--help` shows them and the parser reads them: image-commands.ts,
 * build-commands.ts and registry-client-commands.ts parse with these, commands.ts lists them.
 * No engine code here, so `skiff --help` loads none.
 */
import type { CommandSpec, FlagSpec } from './args.js';
import { LIMIT_DETAILS, LIMIT_FLAGS } from './limit-flags.js';

/** `--tls-verify=false`: for a registry on plain http or with a certificate nobody signed. */
const TLS_VERIFY: FlagSpec = {
  name: 'tls-verify',
  kind: 'boolean',
  help: 'on unless =false, which allows plain http and any certificate',
};

export const IMPORT: CommandSpec = {
  name: 'import',
  synopsis: '[OPTIONS] FILE|- [NAME[:TAG]]',
  summary: 'a rootfs tarball (plain, gzip, zstd) becomes an image',
  details: LIMIT_DETAILS,
  flags: [
    {
      name: 'change',
      short: 'c',
      kind: 'list',
      value: 'INSTRUCTION',
      help: 'a Dockerfile line for its config (CMD, ENV, USER, …)',
    },
    { name: 'message', short: 'm', kind: 'string', value: 'MESSAGE', help: "the history entry's comment" },
    ...LIMIT_FLAGS,
  ],
};

export const IMAGES: CommandSpec = {
  name: 'images',
  synopsis: '[OPTIONS] [NAME[:TAG]]',
  summary: 'list images with their size, shared and unique parts',
  flags: [
    { name: 'format', kind: 'string', value: 'table|json', help: 'json: every field of every image' },
    { name: 'quiet', short: 'q', kind: 'boolean', help: 'only the image IDs' },
    { name: 'no-trunc', kind: 'boolean', help: 'whole image IDs' },
    { name: 'all', short: 'a', kind: 'boolean', help: "docker's; skiff always lists every image" },
  ],
};

export const TAG: CommandSpec = {
  name: 'tag',
  synopsis: 'SOURCE[:TAG] TARGET[:TAG]',
  summary: 'give an image another name',
  flags: [],
};

export const INSPECT: CommandSpec = {
  name: 'inspect',
  synopsis: '[OPTIONS] NAME...',
  summary: 'JSON of containers or images (manifest, config, layers)',
  flags: [
    { name: 'format', short: 'f', kind: 'string', value: 'json', help: 'the one output (no Go templates)' },
    { name: 'type', kind: 'string', value: 'image|container', help: 'look only among these' },
  ],
};

export const HISTORY: CommandSpec = {
  name: 'history',
  synopsis: '[OPTIONS] IMAGE',
  summary: 'the steps that made an image',
  flags: [
    { name: 'format', kind: 'string', value: 'table|json', help: 'json: every field of every step' },
    { name: 'no-trunc', kind: 'boolean', help: 'whole IDs and steps' },
    { name: 'quiet', short: 'q', kind: 'boolean', help: 'only the IDs' },
  ],
};

export const SAVE: CommandSpec = {
  name: 'save',
  synopsis: '[OPTIONS] IMAGE...',
  summary: 'images as an OCI layout tar (or a docker save archive)',
  flags: [
    { name: 'output', short: 'o', kind: 'string', value: 'FILE', help: 'write it here, not to stdout' },
    {
      name: 'format',
      kind: 'string',
      value: 'oci-archive|docker-archive',
      help: 'the layout of the tar (default oci-archive)',
    },
    {
      name: 'compression',
      kind: 'string',
      value: 'gzip|zstd',
      help: 'for layers not yet compressed (default gzip)',
    },
  ],
};

export const LOAD: CommandSpec = {
  name: 'load',
  synopsis: '[OPTIONS]',
  summary: 'images from an OCI layout tar or a docker save archive',
  details: LIMIT_DETAILS,
  flags: [
    { name: 'input', short: 'i', kind: 'string', value: 'FILE', help: 'read it from here, not from stdin' },
    { name: 'quiet', short: 'q', kind: 'boolean', help: "docker's; load shows no progress anyway" },
    ...LIMIT_FLAGS,
  ],
};

export const RMI: CommandSpec = {
  name: 'rmi',
  synopsis: '[OPTIONS] IMAGE...',
  summary: 'untag and remove images',
  flags: [
    {
      name: 'force',
      short: 'f',
      kind: 'boolean',
      help: 'also one a container uses, or with other tags',
    },
  ],
};

export const BUILD: CommandSpec = {
  name: 'build',
  synopsis: '[OPTIONS] CONTEXT|-',
  summary: 'an image from a Dockerfile; unchanged steps from the cache',
  flags: [
    { name: 'tag', short: 't', kind: 'list', value: 'NAME[:TAG]', help: 'name the image' },
    {
      name: 'file',
      short: 'f',
      kind: 'string',
      value: 'FILE|-',
      help: 'the Dockerfile (default CONTEXT/Dockerfile; - reads stdin)',
    },
    {
      name: 'build-arg',
      kind: 'list',
      value: 'NAME[=VALUE]',
      help: "an ARG's value (NAME alone: this environment's)",
    },
    { name: 'target', kind: 'string', value: 'STAGE', help: 'build this stage, not the last' },
    { name: 'no-cache', kind: 'boolean', help: 'run every step again' },
    {
      name: 'no-cache-filter',
      kind: 'list',
      value: 'STAGE[,STAGE]',
      help: "run these stages' steps again",
    },
    { name: 'pull', kind: 'boolean', help: 'fetch FROM images again, even those stored' },
    {
      name: 'secret',
      kind: 'list',
      value: 'id=ID[,src=FILE|env=VAR]',
      help: 'for RUN --mount=type=secret; never in the image',
    },
    {
      name: 'ssh',
      kind: 'list',
      value: 'default|ID=SOCKET',
      help: 'an SSH agent for RUN --mount=type=ssh',
    },
    {
      name: 'network',
      kind: 'string',
      value: 'bridge|none|host',
      help: 'the network of RUN steps (default bridge)',
    },
    {
      name: 'progress',
      kind: 'string',
      value: 'auto|tty|plain|json',
      help: 'how steps are shown (default auto)',
    },
    { name: 'explain-cache', kind: 'boolean', help: 'say why each step missed the cache' },
    { name: 'quiet', short: 'q', kind: 'boolean', help: 'print only the image ID' },
  ],
};

export const PULL: CommandSpec = {
  name: 'pull',
  synopsis: '[OPTIONS] NAME[:TAG|@DIGEST]',
  summary: 'fetch an image; only layers the store lacks are downloaded',
  details: LIMIT_DETAILS,
  flags: [
    {
      name: 'platform',
      kind: 'string',
      value: 'OS/ARCH[/VARIANT]',
      help: "the image for this platform (default this host's)",
    },
    { name: 'quiet', short: 'q', kind: 'boolean', help: 'print only the name' },
    TLS_VERIFY,
    ...LIMIT_FLAGS,
  ],
};

export const PUSH: CommandSpec = {
  name: 'push',
  synopsis: '[OPTIONS] NAME[:TAG] [DESTINATION]',
  summary: 'send an image; only blobs the registry lacks go',
  flags: [
    { name: 'quiet', short: 'q', kind: 'boolean', help: 'print only the digest' },
    {
      name: 'compression',
      kind: 'string',
      value: 'gzip|zstd',
      help: 'how layers travel (default gzip)',
    },
    TLS_VERIFY,
  ],
};

export const LOGIN: CommandSpec = {
  name: 'login',
  synopsis: '[OPTIONS] -u USER REGISTRY',
  summary: 'check and store credentials (~/.docker/config.json)',
  details: 'The password comes from stdin with --password-stdin, or from -p PASSWORD.',
  flags: [
    { name: 'username', short: 'u', kind: 'string', value: 'USER', help: 'the user name' },
    {
      name: 'password',
      short: 'p',
      kind: 'string',
      value: 'PASSWORD',
      help: 'the password (other users may see it; prefer --password-stdin)',
    },
    { name: 'password-stdin', kind: 'boolean', help: 'read the password from stdin' },
    TLS_VERIFY,
  ],
};

export const LOGOUT: CommandSpec = {
  name: 'logout',
  synopsis: 'REGISTRY',
  summary: "forget a registry's credentials",
  flags: [],
};

export const IMAGE_COMMANDS: readonly CommandSpec[] = [
  IMPORT,
  IMAGES,
  TAG,
  INSPECT,
  HISTORY,
  SAVE,
  LOAD,
  RMI,
  BUILD,
  PULL,
  PUSH,
  LOGIN,
  LOGOUT,
];
