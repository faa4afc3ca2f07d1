/**
 * The instructions that carry a command: RUN, CMD, ENTRYPOINT, SHELL and HEALTHCHECK
 * (Dockerfile reference, "RUN", "CMD", "ENTRYPOINT", "SHELL", "HEALTHCHECK").
 */
import type { Node } from '../node.js';
import { NOT_STRINGS, NOT_STRINGS_MESSAGE, parseJsonArray } from '../parse.js';
import { type Context, fail, parseDuration, readFlags } from './flags.js';
import { parseMount } from './mount.js';
import type {
  CmdInstruction,
  CommandForm,
  HealthcheckInstruction,
  Mount,
  RunInstruction,
  ShellInstruction,
} from './types.js';

function commandForm(node: Node, rest: string, json: string[] | undefined): CommandForm {
  return json ? { form: 'exec', args: json } : { form: 'shell', command: rest };
}

export function runInstruction(ctx: Context, node: Node): RunInstruction {
  const flags = readFlags(ctx, node, { mount: 'list', network: 'string', security: 'string' });
  if (node.rest === '' || (node.json && node.json.length === 0)) {
    fail(ctx, node, 'RUN requires at least one argument');
  }
  const mounts: Mount[] = [];
  for (const spec of flags.lists.get('mount') ?? []) {
    const mount = parseMount(spec);
    if (typeof mount === 'string') fail(ctx, node, `parse \`--mount=${spec}\`: ${mount}`);
    mounts.push(mount);
  }
  const run: RunInstruction = {
    kind: 'RUN',
    line: node.startLine,
    endLine: node.endLine,
    command: commandForm(node, node.rest, node.json),
    heredocs: node.heredocs,
    mounts,
  };
  const network = flags.strings.get('network');
  if (network !== undefined) {
    if (network !== 'default' && network !== 'none' && network !== 'host') {
      fail(ctx, node, `unsupported network mode \`${network}\`: use default, none or host`);
    }
    run.network = network;
  }
  const security = flags.strings.get('security');
  if (security !== undefined) {
    if (security !== 'sandbox' && security !== 'insecure') {
      fail(ctx, node, `unsupported security mode \`${security}\`: use sandbox or insecure`);
    }
    run.security = security;
  }
  return run;
}

/** CMD and ENTRYPOINT; `[]` is allowed and clears the inherited value. */
export function cmdInstruction(ctx: Context, node: Node): CmdInstruction {
  readFlags(ctx, node, {});
  if (node.rest === '') fail(ctx, node, `${node.keyword} requires at least one argument`);
  return {
    kind: node.keyword as 'CMD' | 'ENTRYPOINT',
    line: node.startLine,
    endLine: node.endLine,
    command: commandForm(node, node.rest, node.json),
  };
}

export function shellInstruction(ctx: Context, node: Node): ShellInstruction {
  readFlags(ctx, node, {});
  if (!node.json) fail(ctx, node, 'SHELL requires the arguments to be in JSON form');
  if (node.json.length === 0) fail(ctx, node, 'SHELL requires at least one argument');
  return { kind: 'SHELL', line: node.startLine, endLine: node.endLine, args: node.json };
}

const MIN_DURATION_MS = 1;

export function healthcheckInstruction(ctx: Context, node: Node): HealthcheckInstruction {
  const at = { line: node.startLine, endLine: node.endLine };
  const space = node.rest.search(/\s/);
  const type = (space < 0 ? node.rest : node.rest.slice(0, space)).toUpperCase();
  const after = space < 0 ? '' : node.rest.slice(space).trim();
  if (type === 'NONE') {
    if (after !== '' || node.flags.length > 0) fail(ctx, node, 'HEALTHCHECK NONE takes no arguments');
    return { kind: 'HEALTHCHECK', ...at, test: 'NONE' };
  }
  if (type !== 'CMD') fail(ctx, node, `unknown type \`${type}\` in HEALTHCHECK (try CMD)`);
  const flags = readFlags(ctx, node, {
    interval: 'string',
    timeout: 'string',
    'start-period': 'string',
    'start-interval': 'string',
    retries: 'string',
  });
  if (after === '') fail(ctx, node, 'missing command after HEALTHCHECK CMD');
  const json = parseJsonArray(after);
  if (json === NOT_STRINGS) fail(ctx, node, NOT_STRINGS_MESSAGE);
  const check: HealthcheckInstruction = {
    kind: 'HEALTHCHECK',
    ...at,
    test: commandForm(node, after, json),
  };
  const durations = [
    ['interval', 'interval'],
    ['timeout', 'timeout'],
    ['start-period', 'startPeriod'],
    ['start-interval', 'startInterval'],
  ] as const;
  for (const [flag, field] of durations) {
    const text = flags.strings.get(flag);
    if (text === undefined) continue;
    const ms = parseDuration(text);
    if (ms === undefined) fail(ctx, node, `invalid duration \`${text}\` for \`--${flag}\``);
    // Zero means "use the default"; anything else below 1ms is refused, as Docker does.
    if (ms !== 0 && ms < MIN_DURATION_MS) fail(ctx, node, `\`--${flag}\` cannot be less than 1ms`);
    check[field] = ms;
  }
  const retries = flags.strings.get('retries');
  if (retries !== undefined) {
    if (!/^\d+$/.test(retries)) fail(ctx, node, `invalid \`--retries\` value \`${retries}\`: not a count`);
    check.retries = Number(retries);
  }
  return check;
}
