/**
 * Applies variable expansion to the fields the Dockerfile reference allows ("Environment
 * replacement": ADD, COPY, ENV, EXPOSE, FROM, LABEL, STOPSIGNAL, USER, VOLUME, WORKDIR,
 * ONBUILD with one of these), plus ARG defaults, `--chown`/`--from` and RUN mount options as
 * BuildKit does. RUN, CMD and ENTRYPOINT commands are left alone: the shell expands them.
 * The executor calls this with the variables in scope at that step.
 */
import { DockerfileError } from './node.js';
import { type Env, ExpandError, expandWord, expandWords } from './expand.js';
import type { Instruction } from './instructions/types.js';

export interface ExpandInstructionOptions {
  file?: string;
  escape?: '\\' | '`';
}

export function expandInstruction(
  instruction: Instruction,
  env: Env,
  options: ExpandInstructionOptions = {},
): Instruction {
  const escape = options.escape ?? '\\';
  const word = (w: string): string => expandWord(w, env, { escape });
  const opt = (w: string | undefined): string | undefined => (w === undefined ? undefined : word(w));
  try {
    switch (instruction.kind) {
      case 'FROM':
        return dropUndefined({
          ...instruction,
          image: word(instruction.image),
          platform: opt(instruction.platform),
        });
      case 'COPY':
      case 'ADD':
        return dropUndefined({
          ...instruction,
          sources: instruction.sources.map(word),
          dest: word(instruction.dest),
          exclude: instruction.exclude.map(word),
          from: opt(instruction.from),
          chown: opt(instruction.chown),
        });
      case 'RUN':
        return {
          ...instruction,
          mounts: instruction.mounts.map((m) =>
            dropUndefined({
              ...m,
              target: opt(m.target),
              source: opt(m.source),
              from: opt(m.from),
              id: opt(m.id),
            }),
          ),
        };
      case 'ENV':
      case 'LABEL':
        return {
          ...instruction,
          pairs: instruction.pairs.map((p) => ({ key: word(p.key), value: word(p.value) })),
        };
      case 'ARG':
        return {
          ...instruction,
          args: instruction.args.map((a) =>
            a.default === undefined ? a : { ...a, default: word(a.default) },
          ),
        };
      case 'EXPOSE':
        // A variable may hold several ports (`EXPOSE $PORTS`), so this one splits words.
        return { ...instruction, ports: instruction.ports.flatMap((p) => expandWords(p, env, { escape })) };
      case 'VOLUME':
        return { ...instruction, paths: instruction.paths.map(word) };
      case 'USER':
        return dropUndefined({ ...instruction, user: word(instruction.user), group: opt(instruction.group) });
      case 'WORKDIR':
      case 'STOPSIGNAL':
        return { ...instruction, value: word(instruction.value) };
      case 'ONBUILD':
        // Triggers run in the child build, with the child's variables.
        return instruction;
      default:
        return instruction;
    }
  } catch (err) {
    if (!(err instanceof ExpandError)) throw err;
    throw new DockerfileError(options.file ?? 'Dockerfile', instruction.line, err.message, {
      endLine: instruction.endLine,
      cause: err,
    });
  }
}

function dropUndefined<T extends object>(value: T): T {
  for (const key of Object.keys(value) as (keyof T)[]) {
    if (value[key] === undefined) delete value[key];
  }
  return value;
}
