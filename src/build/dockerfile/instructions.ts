/**
 * Nodes → typed, validated instructions, one function per instruction family in
 * instructions/. Everything here is syntax and shape; nothing is expanded or executed.
 */
import { DockerfileError, type Directives, type Node, type ParseResult, type Warning } from './node.js';
import { nodeFromLine, parseDockerfile } from './parse.js';
import {
  cmdInstruction,
  healthcheckInstruction,
  runInstruction,
  shellInstruction,
} from './instructions/command.js';
import { copyInstruction } from './instructions/copy.js';
import { type Context, fail, readFlags } from './instructions/flags.js';
import { argInstruction, envInstruction } from './instructions/name-value.js';
import {
  exposeInstruction,
  fromInstruction,
  userInstruction,
  volumeInstruction,
  wordInstruction,
} from './instructions/simple.js';
import type { Instruction, OnbuildInstruction } from './instructions/types.js';

export type * from './instructions/types.js';

type Builder = (ctx: Context, node: Node) => Instruction;

const BUILDERS: Record<string, Builder> = {
  FROM: fromInstruction,
  RUN: runInstruction,
  CMD: cmdInstruction,
  ENTRYPOINT: cmdInstruction,
  COPY: copyInstruction,
  ADD: copyInstruction,
  ENV: envInstruction,
  LABEL: envInstruction,
  ARG: argInstruction,
  EXPOSE: exposeInstruction,
  VOLUME: volumeInstruction,
  USER: userInstruction,
  WORKDIR: wordInstruction,
  STOPSIGNAL: wordInstruction,
  MAINTAINER: wordInstruction,
  SHELL: shellInstruction,
  HEALTHCHECK: healthcheckInstruction,
  ONBUILD: onbuildInstruction,
};

/** Reference, "ONBUILD": "Chaining ONBUILD instructions using ONBUILD ONBUILD isn't allowed", nor FROM or MAINTAINER. */
const NOT_ONBUILD = new Set(['ONBUILD', 'FROM', 'MAINTAINER']);

export interface Dockerfile {
  directives: Directives;
  instructions: Instruction[];
  warnings: Warning[];
}

export function buildInstructions(parsed: ParseResult, options: { file?: string } = {}): Dockerfile {
  const ctx: Context = { file: options.file ?? 'Dockerfile', escape: parsed.directives.escape };
  return {
    directives: parsed.directives,
    instructions: parsed.nodes.map((node) => buildInstruction(ctx, node)),
    warnings: parsed.warnings,
  };
}

/** Text → typed instructions in one step; `file` names the Dockerfile in errors. */
export function parseInstructions(text: string, options: { file?: string } = {}): Dockerfile {
  return buildInstructions(parseDockerfile(text, options), options);
}

export function buildInstruction(ctx: Context, node: Node): Instruction {
  const builder = Object.hasOwn(BUILDERS, node.keyword) ? BUILDERS[node.keyword] : undefined;
  if (!builder) {
    throw new DockerfileError(ctx.file, node.startLine, `unknown instruction \`${node.keyword}\``, {
      endLine: node.endLine,
    });
  }
  return builder(ctx, node);
}

function onbuildInstruction(ctx: Context, node: Node): OnbuildInstruction {
  readFlags(ctx, node, {});
  if (node.rest === '') fail(ctx, node, 'ONBUILD requires at least one argument');
  // The flags of the trigger were read as ONBUILD's; parse the whole expression again.
  const expression = node.rest;
  const inner = nodeFromLine(expression, { startLine: node.startLine, escape: ctx.escape, file: ctx.file });
  inner.endLine = node.endLine;
  inner.heredocs = node.heredocs;
  if (NOT_ONBUILD.has(inner.keyword)) fail(ctx, node, `${inner.keyword} isn't allowed as an ONBUILD trigger`);
  return {
    kind: 'ONBUILD',
    line: node.startLine,
    endLine: node.endLine,
    expression,
    instruction: buildInstruction(ctx, inner),
  };
}
