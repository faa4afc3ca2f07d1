/**
 * Multi-stage structure (Dockerfile reference, "Multi-stage builds", "Understand how ARG and
 * FROM interact"): the global ARGs before the first FROM, one stage per FROM, what each stage
 * depends on (`FROM <stage>`, `COPY --from`, `RUN --mount=from=`), and the stages a
 * `--target` needs, so the executor can skip the rest and run independent stages in parallel.
 */
import { InvalidArgument } from '../../util/errors.js';
import { expandWord } from './expand.js';
import type { Dockerfile } from './instructions.js';
import type { ArgInstruction, FromInstruction, Instruction } from './instructions/types.js';
import { DockerfileError } from './node.js';

export interface Stage {
  index: number;
  name?: string;
  from: FromInstruction;
  /** What FROM names once the global ARGs are expanded: an earlier stage, or an image. */
  base: { stage: number } | { image: string };
  /** The instructions after FROM, up to the next FROM. */
  instructions: Instruction[];
  /** Indexes of the earlier stages this one reads from, ascending. */
  deps: number[];
}

export interface StagePlan {
  globalArgs: ArgInstruction[];
  /** Global ARG values (build arguments over defaults), the scope FROM lines expand in. */
  globalEnv: Map<string, string>;
  stages: Stage[];
}

export interface PlanOptions {
  file?: string;
  buildArgs?: Record<string, string>;
}

export function planStages(dockerfile: Dockerfile, options: PlanOptions = {}): StagePlan {
  const file = options.file ?? 'Dockerfile';
  const escape = dockerfile.directives.escape;
  const globalArgs: ArgInstruction[] = [];
  const globalEnv = new Map<string, string>();
  const stages: Stage[] = [];
  const byName = new Map<string, number>();
  const expand = (word: string, line: number): string => {
    try {
      return expandWord(word, globalEnv, { escape });
    } catch (err) {
      throw new DockerfileError(file, line, err instanceof Error ? err.message : String(err), { cause: err });
    }
  };

  for (const instruction of dockerfile.instructions) {
    const current = stages.at(-1);
    if (instruction.kind === 'FROM') {
      const image = expand(instruction.image, instruction.line);
      // Only an earlier stage can be a base; a later name is an image name (as in BuildKit).
      const baseStage = byName.get(image.toLowerCase());
      const stage: Stage = {
        index: stages.length,
        from: instruction,
        base: baseStage === undefined ? { image } : { stage: baseStage },
        instructions: [],
        deps: baseStage === undefined ? [] : [baseStage],
      };
      if (instruction.name !== undefined) {
        if (byName.has(instruction.name)) {
          throw new DockerfileError(file, instruction.line, `duplicate stage name \`${instruction.name}\``);
        }
        stage.name = instruction.name;
        byName.set(instruction.name, stage.index);
      }
      stages.push(stage);
    } else if (!current) {
      if (instruction.kind !== 'ARG') {
        throw new DockerfileError(
          file,
          instruction.line,
          `${instruction.kind} before the first FROM: only ARG may come first`,
        );
      }
      globalArgs.push(instruction);
      for (const arg of instruction.args) {
        const given = options.buildArgs?.[arg.name];
        const value =
          given ?? (arg.default === undefined ? undefined : expand(arg.default, instruction.line));
        if (value !== undefined) globalEnv.set(arg.name, value);
      }
    } else {
      current.instructions.push(instruction);
    }
  }
  if (stages.length === 0)
    throw new DockerfileError(file, 1, 'no FROM instruction: the Dockerfile has no build stage');
  for (const stage of stages) stage.deps = stageDeps(stage, { byName, file, expand });
  return { globalArgs, globalEnv, stages };
}

function stageDeps(
  stage: Stage,
  at: { byName: Map<string, number>; file: string; expand: (w: string, line: number) => string },
): number[] {
  const deps = new Set(stage.deps);
  const refer = (ref: string, line: number, what: string): void => {
    const value = at.expand(ref, line).toLowerCase();
    const index = /^\d+$/.test(value) ? Number(value) : at.byName.get(value);
    // Not a stage: `--from` names an image, fetched like a FROM.
    if (index === undefined) return;
    if (index === stage.index) {
      throw new DockerfileError(at.file, line, `circular dependency: ${what}=${ref} refers to its own stage`);
    }
    if (index > stage.index) {
      throw new DockerfileError(at.file, line, `${what}=${ref} refers to a later build stage`);
    }
    deps.add(index);
  };
  for (const instruction of stage.instructions) {
    if ((instruction.kind === 'COPY' || instruction.kind === 'ADD') && instruction.from !== undefined) {
      refer(instruction.from, instruction.line, `${instruction.kind} --from`);
    } else if (instruction.kind === 'RUN') {
      for (const mount of instruction.mounts) {
        if (mount.from !== undefined) refer(mount.from, instruction.line, 'RUN --mount from');
      }
    }
  }
  return [...deps].sort((a, b) => a - b);
}

/**
 * The stages `target` (a name, case-insensitive; the last stage when absent) needs, itself
 * included, in an order where every stage comes after its dependencies.
 */
export function stagesForTarget(plan: StagePlan, target?: string): Stage[] {
  let root = plan.stages.at(-1)!;
  if (target !== undefined) {
    const found = plan.stages.find((s) => s.name === target.toLowerCase());
    if (!found)
      throw new InvalidArgument(`build target \`${target}\`: no stage of that name`, { code: 'DOCKERFILE' });
    root = found;
  }
  const needed = new Set<number>();
  const visit = (index: number, path: number[]): void => {
    if (path.includes(index)) {
      const names = [...path, index].map((i) => plan.stages[i]!.name ?? String(i));
      throw new InvalidArgument(
        `build target \`${root.name ?? root.index}\`: circular dependency ${names.join(' → ')}`,
        {
          code: 'DOCKERFILE',
        },
      );
    }
    if (needed.has(index)) return;
    for (const dep of plan.stages[index]!.deps) visit(dep, [...path, index]);
    needed.add(index);
  };
  visit(root.index, []);
  return [...needed].sort((a, b) => a - b).map((i) => plan.stages[i]!);
}
