/**
 * The command table: every verb and sub-verb skiff has, in the sections `skiff --help` and
 * the README show them. Each entry is the CommandSpec its verb parses with (the *-flags.ts
 * files), so a flag cannot be accepted without being documented, nor documented without being
 * accepted. Light on purpose: main.ts reads it on every start, before any verb is loaded.
 */
import type { CommandSpec } from './args.js';
import { CONTAINER_COMMANDS } from './container-flags.js';
import { DEPLOY_COMMANDS } from './deploy-flags.js';
import { IMAGE_COMMANDS } from './image-flags.js';
import { NETWORK_COMMANDS } from './network-flags.js';
import { REGISTRY_COMMANDS } from './registry-flags.js';
import { SYSTEM_COMMANDS } from './system-flags.js';

export interface Section {
  title: string;
  /** A few words after the title, for what the whole section shares. */
  note?: string;
  commands: readonly CommandSpec[];
}

export const SECTIONS: readonly Section[] = [
  { title: 'Images', commands: IMAGE_COMMANDS },
  { title: 'Containers', commands: [...CONTAINER_COMMANDS, ...NETWORK_COMMANDS] },
  {
    title: 'Deploy',
    note: 'HAProxy in front, zero-downtime switches through its runtime API',
    commands: DEPLOY_COMMANDS,
  },
  { title: 'System', commands: SYSTEM_COMMANDS },
  {
    title: 'Registry server',
    note: "never opens skiff's store; its own --root",
    commands: REGISTRY_COMMANDS,
  },
];

/** The options before the verb: `skiff [OPTIONS] COMMAND`. */
export const SKIFF: CommandSpec = {
  name: 'skiff',
  synopsis: '[OPTIONS] COMMAND',
  summary: 'images, containers, a registry and deploys, without a daemon',
  flags: [
    {
      name: 'root',
      kind: 'string',
      value: 'DIR',
      help: 'the store (default $SKIFF_ROOT, else /var/lib/skiff)',
    },
    { name: 'debug', short: 'D', kind: 'boolean', help: "a failure's stack trace too" },
    { name: 'help', short: 'h', kind: 'boolean', help: 'this overview' },
    { name: 'version', kind: 'boolean', help: "skiff's version" },
  ],
  stopAtPositional: true,
};

export const ALL_COMMANDS: readonly CommandSpec[] = SECTIONS.flatMap((s) => s.commands);

const BY_NAME = new Map<string, CommandSpec>();
for (const command of ALL_COMMANDS) {
  BY_NAME.set(command.name, command);
  const group = command.name.split(' ').slice(0, -1);
  for (const alias of command.aliases ?? []) BY_NAME.set([...group, alias].join(' '), command);
}

/**
 * The command `words` (a command line after skiff's own options) runs, and what is left for
 * it to parse: `network create -d bridge x` is `network create` with `-d bridge x`.
 */
export function findCommand(words: readonly string[]): { command: CommandSpec; argv: string[] } | undefined {
  const [first, second] = words;
  if (first === undefined) return undefined;
  const sub = second === undefined ? undefined : BY_NAME.get(`${first} ${second}`);
  if (sub) return { command: sub, argv: words.slice(2) };
  const command = BY_NAME.get(first);
  return command ? { command, argv: words.slice(1) } : undefined;
}

/** The sub-verbs of `group` (`network`: create, ls, …), hidden ones left out. */
export function subcommandsOf(group: string): CommandSpec[] {
  return ALL_COMMANDS.filter((c) => !c.hidden && c.name.startsWith(`${group} `));
}

/** `create, ls, inspect, rm`: for a group's "unknown command" error. */
export function subcommandNames(group: string): string {
  return subcommandsOf(group)
    .map((c) => c.name.slice(group.length + 1))
    .join(', ');
}

/** Every first word: the verbs main.ts must be able to run. */
export function topLevelVerbs(): string[] {
  return [...new Set(ALL_COMMANDS.map((c) => c.name.split(' ')[0]!))];
}
