/**
 * The help texts, rendered from the command table (commands.ts): `skiff --help`, `skiff VERB
 * --help`, `skiff GROUP --help`, and the README's command list, which is the overview.
 */
import { asksForHelp, usageLine, type CommandSpec, type FlagSpec } from './args.js';
import { findCommand, SECTIONS, SKIFF, subcommandsOf } from './commands.js';

/** Past this, a left column's entry has its text on the next line instead. */
const MAX_LEFT = 36;

type Rows = readonly (readonly [string, string])[];

function leftWidth(rows: Rows): number {
  return Math.min(MAX_LEFT, Math.max(0, ...rows.map(([left]) => left.length)));
}

/** Two columns, the right one aligned; an entry too wide for the left one wraps. */
function columns(rows: Rows, width = leftWidth(rows)): string {
  return rows
    .map(([left, right]) =>
      left.length <= width
        ? `  ${left.padEnd(width)}  ${right}\n`
        : `  ${left}\n  ${' '.repeat(width)}  ${right}\n`,
    )
    .join('');
}

/** `-t, --tag NAME[:TAG]`, with room for a short flag kept for those without one. */
function flagLeft(flag: FlagSpec): string {
  const long = `--${flag.name}${flag.kind === 'boolean' ? '' : ` ${flag.value}`}`;
  return flag.short === undefined ? `    ${long}` : `-${flag.short}, ${long}`;
}

function flagRows(flags: readonly FlagSpec[]): [string, string][] {
  return flags
    .filter((f) => !f.hidden)
    .map((f) => [flagLeft(f), f.kind === 'list' ? `${f.help}; repeatable` : f.help]);
}

/** What follows the group's name: `create [OPTIONS] NAME`. */
function entry(command: CommandSpec, under = ''): string {
  const name = under === '' ? command.name : command.name.slice(under.length + 1);
  return command.synopsis === '' ? name : `${name} ${command.synopsis}`;
}

/** `skiff --help`: skiff's options, then every verb by section with its synopsis and summary. */
export function overview(): string {
  let text = `Usage: skiff ${SKIFF.synopsis}\n\nOptions:\n${columns(flagRows(SKIFF.flags))}`;
  const sections = SECTIONS.map((section) => ({
    ...section,
    rows: section.commands.filter((c) => !c.hidden).map((c) => [entry(c), c.summary] as const),
  }));
  // One column for all sections, so the summaries line up down the whole page.
  const width = leftWidth(sections.flatMap((s) => s.rows));
  for (const section of sections)
    text += `\n${section.title}${section.note ? ` (${section.note})` : ''}:\n${columns(section.rows, width)}`;
  return `${text}\nRun 'skiff COMMAND --help' for a command's options.\n`;
}

/** `skiff VERB --help`: its synopsis, what it does, and every flag it takes. */
export function commandHelp(command: CommandSpec): string {
  let text = `Usage: ${usageLine(command)}\n\n${command.summary}\n`;
  if (command.details) text += `\n${command.details}\n`;
  const group = command.name.split(' ').slice(0, -1);
  if (command.aliases?.length)
    text += `\nAliases: ${command.aliases.map((a) => `skiff ${[...group, a].join(' ')}`).join(', ')}\n`;
  const rows = flagRows(command.flags);
  if (rows.length > 0) text += `\nOptions:\n${columns(rows)}`;
  return text;
}

/** `skiff network --help`: the group's sub-verbs. */
export function groupHelp(group: string): string {
  const rows = subcommandsOf(group).map((c) => [entry(c, group), c.summary] as const);
  return (
    `Usage: skiff ${group} COMMAND\n\nCommands:\n${columns(rows)}\n` +
    `Run 'skiff ${group} COMMAND --help' for a command's options.\n`
  );
}

function isGroup(word: string): boolean {
  return subcommandsOf(word).length > 0;
}

/** `skiff help WORDS…`: the help of that command or group, or undefined when there is none. */
export function helpFor(words: readonly string[]): string | undefined {
  if (words.length === 0) return overview();
  const found = findCommand(words);
  if (found && found.argv.length === 0) return commandHelp(found.command);
  if (words.length === 1 && isGroup(words[0]!)) return groupHelp(words[0]!);
  return undefined;
}

/**
 * The help a command line asks for with `--help` (or `-h` where the verb has no -h of its
 * own), or undefined when it asks for none: `build --help`, `network create -h`, `network
 * --help`. After the image of `run`, `--help` is the container's.
 */
export function helpRequested(words: readonly string[]): string | undefined {
  const found = findCommand(words);
  if (found) return asksForHelp(found.argv, found.command) ? commandHelp(found.command) : undefined;
  const [group, flag] = words;
  if (group !== undefined && isGroup(group) && (flag === '--help' || flag === '-h' || flag === 'help'))
    return groupHelp(group);
  return undefined;
}
