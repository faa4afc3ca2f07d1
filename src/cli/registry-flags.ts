/**
 * `skiff registry serve|gc` as `--help` shows them and registry-commands.ts parses them;
 * listed by commands.ts under Registry server. No engine code here.
 */
import type { CommandSpec, FlagSpec } from './args.js';

const ROOT: FlagSpec = {
  name: 'root',
  kind: 'string',
  value: 'DIR',
  help: "the registry's storage (required; not skiff's store)",
};

export const REGISTRY_SERVE: CommandSpec = {
  name: 'registry serve',
  synopsis: '--root DIR [OPTIONS]',
  summary: 'serve the OCI distribution API, in the foreground',
  flags: [
    { name: 'addr', kind: 'string', value: 'HOST:PORT', help: 'where to listen (default 127.0.0.1:5000)' },
    ROOT,
    {
      name: 'htpasswd',
      kind: 'string',
      value: 'FILE',
      help: 'users (htpasswd -B); without --access, anonymous callers only pull',
    },
    {
      name: 'access',
      kind: 'string',
      value: 'FILE',
      help: 'who may pull, push, delete where (YAML rules; read once at start)',
    },
    { name: 'tls-cert', kind: 'string', value: 'FILE', help: 'serve HTTPS with this certificate' },
    { name: 'tls-key', kind: 'string', value: 'FILE', help: "and this certificate's key" },
    {
      name: 'token-issuer',
      kind: 'boolean',
      help: 'Docker token auth with our own /token endpoint (users from --htpasswd)',
    },
    { name: 'token-realm', kind: 'string', value: 'URL', help: 'tokens from an outside issuer, here' },
    {
      name: 'token-key',
      kind: 'string',
      value: 'PEM',
      help: "the outside issuer's public key (x5c chains: root certificates)",
    },
    {
      name: 'token-service',
      kind: 'string',
      value: 'NAME',
      help: 'the service name in challenges and tokens (default skiff-registry)',
    },
    {
      name: 'token-iss',
      kind: 'string',
      value: 'NAME',
      help: "the `iss` an outside issuer's tokens must carry",
    },
    {
      name: 'upload-ttl',
      kind: 'string',
      value: 'DURATION',
      help: 'drop upload sessions idle this long (default 24h; also at start)',
    },
    {
      name: 'max-upload-size',
      kind: 'string',
      value: 'SIZE',
      help: 'refuse a blob upload past SIZE (like 2GiB; default none)',
    },
    {
      name: 'repo-quota',
      kind: 'string',
      value: 'SIZE',
      help: "refuse a push that takes a repository's blobs past SIZE",
    },
    { name: 'log', kind: 'boolean', help: 'one line per request on stderr' },
    { name: 'workers', kind: 'string', value: 'N', help: 'N processes on one port (default 1)' },
  ],
};

export const REGISTRY_GC: CommandSpec = {
  name: 'registry gc',
  synopsis: '--root DIR [OPTIONS]',
  summary: 'remove unreferenced blobs; safe while a server serves DIR',
  flags: [
    ROOT,
    { name: 'dry-run', kind: 'boolean', help: 'say what would go; remove nothing' },
    {
      name: 'grace',
      kind: 'string',
      value: 'DURATION',
      help: 'keep blobs younger than this (default 1h; must outlast a push)',
    },
    { name: 'format', kind: 'string', value: 'text|json', help: 'json: the whole report' },
  ],
};

export const REGISTRY_COMMANDS: readonly CommandSpec[] = [REGISTRY_SERVE, REGISTRY_GC];
