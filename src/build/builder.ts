/**
 * `skiff build`: the Dockerfile's stages that the target needs, each turned into steps —
 * variables expanded in the scope the reference defines (ARG and ENV, "Environment
 * replacement"), COPY sources resolved against the context and checksummed — and run by the
 * executor over the build cache. What is not supported yet says so with its Dockerfile line.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Writable } from 'node:stream';
import type { Digest } from '../oci/digest.js';
import { readImage, resolveImage } from '../image/image.js';
import { mountRootfs, unmountRootfs } from '../runtime/rootfs.js';
import { createHash } from 'node:crypto';
import type { Runtime } from '../runtime/runtime.js';
import type { Store } from '../store/store.js';
import { InvalidArgument, NotFound } from '../util/errors.js';
import { ChecksumCache } from './context/checksum-cache.js';
import { planCopy } from './context/copy-plan.js';
import { walkContext, type ContextEntry } from './context/walk.js';
import { expandInstruction } from './dockerfile/expand-instruction.js';
import { parseInstructions } from './dockerfile/instructions.js';
import type { Instruction } from './dockerfile/instructions/types.js';
import { DockerfileError } from './dockerfile/node.js';
import { planStages, stagesForTarget, type Stage } from './dockerfile/stages.js';
import { executeSteps, type BuildEvent, type Step } from './execute.js';
import { parentConfig } from './derive-image.js';
import { tagName } from '../image/image.js';
import { commitImage } from '../image/commit.js';
import { StageState } from './stage-state.js';

export interface BuildOptions {
  /** The context directory. */
  context: string;
  /** The Dockerfile's text (from -f FILE or stdin). */
  dockerfile: string;
  /** How errors name it; "Dockerfile" by default. */
  dockerfileName?: string;
  tags?: string[];
  buildArgs?: Record<string, string>;
  target?: string;
  noCache?: boolean;
  network?: 'bridge' | 'none' | 'host';
  output?: Writable;
  onEvent?: (event: BuildEvent) => void;
}

export async function buildImage(store: Store, runtime: Runtime, o: BuildOptions): Promise<Digest> {
  const file = o.dockerfileName ?? 'Dockerfile';
  if (!fs.statSync(o.context, { throwIfNoEntry: false })?.isDirectory()) {
    throw new InvalidArgument(`build: context \`${o.context}\` is not a directory`);
  }
  const dockerfile = parseInstructions(o.dockerfile, { file });
  const plan = planStages(dockerfile, { file, buildArgs: o.buildArgs });
  const stages = stagesForTarget(plan, o.target);
  const escape = dockerfile.directives.escape;
  let walked: ContextEntry[] | undefined;
  const results = new Map<number, Digest | undefined>();
  const sources = new FromSources(store, plan.stages, results, file);
  const context: Context = {
    root: o.context,
    entries: async () => (walked ??= await walkContext(o.context, { dockerfile: path.basename(file) })),
    checksums: ChecksumCache.open(o.context, {
      cacheDir: path.join(store.paths.root, 'cache', 'build-context'),
    }),
    from: (name, line) => sources.get(name, line),
    cacheRoot: path.join(store.paths.root, 'cache', 'build-mounts'),
  };
  try {
    return await runStages();
  } finally {
    sources.release();
  }

  async function runStages(): Promise<Digest> {
    // ARG makes no step of its own.
    const counted = (s: Stage) => s.instructions.filter((i) => i.kind !== 'ARG').length;
    const total = stages.reduce((n, s) => n + 1 + counted(s), 0);
    let index = 1;
    for (const stage of stages) {
      const base = baseImage(store, stage, results, file);
      o.onEvent?.({
        type: 'step',
        index,
        total,
        text: `FROM ${stage.from.image}${stage.name ? ` AS ${stage.name}` : ''}`,
      });
      if (base) o.onEvent?.({ type: 'done', index, imageId: base, ms: 0 });
      index++;
      const state = new StageState(file, parentConfig(store, base), {
        buildArgs: o.buildArgs ?? {},
        globalArgs: plan.globalEnv,
        network: o.network,
      });
      const steps: Step[] = [];
      for (const raw of stage.instructions) {
        const instruction = expandInstruction(raw, state.scope(), { file, escape });
        const step = await toStep(instruction, state, context);
        if (step) steps.push(step);
      }
      const id = await executeSteps(store, runtime, base, steps, {
        noCache: o.noCache,
        output: o.output,
        onEvent: o.onEvent,
        firstIndex: index,
        total,
      });
      index += steps.length;
      results.set(stage.index, id);
    }
    context.checksums.save();
    let final = results.get(stages.at(-1)!.index);
    if (final === undefined) {
      // `FROM scratch` and nothing else: an empty image.
      final = (await commitImage(store, { config: parentConfig(store, undefined) })).id;
    }
    for (const tag of o.tags ?? []) {
      const image = resolveImage(store, final);
      store.meta.setTag(tagName(tag), image.manifestDigest);
    }
    return final;
  }
}

function baseImage(
  store: Store,
  stage: Stage,
  results: Map<number, Digest | undefined>,
  file: string,
): Digest | undefined {
  if ('stage' in stage.base) return results.get(stage.base.stage);
  if (stage.base.image === 'scratch') return undefined;
  try {
    return resolveImage(store, stage.base.image).imageId;
  } catch (err) {
    if (err instanceof NotFound) {
      throw new DockerfileError(
        file,
        stage.from.line,
        `FROM \`${stage.base.image}\`: no such image in the store (skiff pull it first)`,
      );
    }
    throw err;
  }
}

interface Context {
  root: string;
  entries: () => Promise<ContextEntry[]>;
  checksums: ChecksumCache;
  /** Where `RUN --mount=type=cache` directories live. */
  cacheRoot: string;
  /** The filesystem of a stage or an image for `COPY --from`, mounted read-only until the build ends. */
  from: (name: string, line: number) => Promise<{ root: string; imageId: Digest; entries: ContextEntry[] }>;
}

async function toStep(i: Instruction, state: StageState, context: Context): Promise<Step | undefined> {
  const where = `${state.file}:${i.line}`;
  const unsupported = (what: string) => state.error(i.line, `${what} is not supported yet`);
  switch (i.kind) {
    case 'FROM':
      return undefined;
    case 'ARG':
      state.declareArgs(i.args);
      return undefined;
    case 'RUN': {
      const command = state.runCommand(i);
      const mounts = await runMounts(i, context, state);
      return {
        kind: 'run',
        text: `RUN ${mounts.flags.map((f) => `${f} `).join('')}${i.command.form === 'exec' ? JSON.stringify(i.command.args) : i.command.command}${i.heredocs.map((h) => `\n${h.content}${h.name}`).join('')}`,
        where,
        command,
        env: state.runEnv(),
        workdir: state.config.WorkingDir || undefined,
        user: state.config.User || undefined,
        network: i.network === 'none' ? 'none' : i.network === 'host' ? 'host' : state.network,
        args: state.visibleArgs(),
        volumes: mounts.volumes,
        tmpfs: mounts.tmpfs,
        inputs: mounts.inputs,
      };
    }
    case 'COPY':
    case 'ADD': {
      if (i.heredocs.length > 0) throw unsupported(`${i.kind} from a here-document`);
      if (
        i.kind === 'ADD' &&
        i.sources.some((s) => /^[a-z]+:\/\//i.test(s) || /\.(tar|tgz|tar\.\w+)$/.test(s))
      ) {
        throw unsupported('ADD of a URL or an archive');
      }
      const from = i.from === undefined ? undefined : await context.from(i.from, i.line);
      const entries = from ? from.entries : await context.entries();
      const plan = planCopy(entries, {
        instruction: `${where} ${i.kind}`,
        sources: i.sources,
        dest: i.dest,
        workdir: state.config.WorkingDir || '/',
        parents: i.parents,
        exclude: i.exclude,
      });
      const owner = state.owner(i.chown, i.line);
      const byPath = new Map(entries.map((e) => [e.path, e]));
      // An image's files are fixed by its ID: no need to read them for the key.
      const inputs = from
        ? `${from.imageId} ${createHash('sha256').update(JSON.stringify(plan)).digest('hex')}`
        : await context.checksums.checksum(
            plan.map((p) => byPath.get(p.from) ?? p.from),
            { uid: owner?.uid, gid: owner?.gid, chmod: i.chmod },
          );
      const flags = [
        i.chown ? `--chown=${i.chown}` : '',
        i.chmod !== undefined ? `--chmod=${i.chmod.toString(8)}` : '',
        i.parents ? '--parents' : '',
        i.from !== undefined ? `--from=${i.from}` : '',
        ...i.exclude.map((e) => `--exclude=${e}`),
      ].filter(Boolean);
      return {
        kind: 'copy',
        text: `${i.kind} ${[...flags, ...i.sources, i.dest].join(' ')}`,
        where,
        plan: plan.map((p) => ({ source: path.join(from ? from.root : context.root, p.from), dest: p.to })),
        options: { chown: owner, chmod: i.chmod },
        inputs,
      };
    }
    case 'ONBUILD':
      return state.configStep(where, `ONBUILD ${i.expression}`, (c) => {
        c.OnBuild = [...(c.OnBuild ?? []), i.expression];
      });
    default:
      return state.configInstruction(i, where);
  }
}

/**
 * `COPY --from=<stage|index|image>`: the stage's result (or the image) mounted read-only as an
 * overlay of its layers under the store's tmp/, walked like a context. Mounts stay until the
 * build ends, since steps are made before they run.
 */
class FromSources {
  private readonly mounted = new Map<
    string,
    { root: string; imageId: Digest; entries: ContextEntry[]; dir: string }
  >();

  constructor(
    private readonly store: Store,
    private readonly stages: Stage[],
    private readonly results: Map<number, Digest | undefined>,
    private readonly file: string,
  ) {}

  async get(name: string, line: number): Promise<{ root: string; imageId: Digest; entries: ContextEntry[] }> {
    const imageId = this.imageOf(name, line);
    const known = this.mounted.get(imageId);
    if (known) return known;
    const dir = fs.mkdtempSync(path.join(this.store.paths.tmp, 'copy-from-'));
    const diffIds = readImage(this.store, resolveImage(this.store, imageId)).config.rootfs.diff_ids;
    const root = mountRootfs(this.store, dir, diffIds);
    const entries = await walkContext(root, { ignore: [] });
    const source = { root, imageId, entries, dir };
    this.mounted.set(imageId, source);
    return source;
  }

  release(): void {
    for (const { dir } of this.mounted.values()) {
      try {
        unmountRootfs(dir);
        fs.rmSync(dir, { recursive: true, force: true });
      } catch {
        // A busy mount is left for `system prune` (tmp/); the build's result does not depend on it.
      }
    }
    this.mounted.clear();
  }

  private imageOf(name: string, line: number): Digest {
    const stage = /^\d+$/.test(name)
      ? this.stages[Number(name)]
      : this.stages.find((s) => s.name === name.toLowerCase());
    if (stage) {
      const id = this.results.get(stage.index);
      if (id === undefined)
        throw new DockerfileError(this.file, line, `--from=${name}: that stage has no filesystem yet`);
      return id;
    }
    try {
      return resolveImage(this.store, name).imageId;
    } catch (err) {
      if (err instanceof NotFound) {
        throw new DockerfileError(this.file, line, `--from=${name}: no such stage or image in the store`);
      }
      throw err;
    }
  }
}

/**
 * `RUN --mount` (reference, "RUN --mount"): `cache` is a directory kept under the store across
 * builds (by id, else target), `tmpfs` a tmpfs, `bind` a read-only view of the context or of
 * another stage or image. What a bind shows is part of the step's key: the checksum of those
 * context files, or the image's ID.
 */
async function runMounts(
  i: Extract<Instruction, { kind: 'RUN' }>,
  context: Context,
  state: StageState,
): Promise<{ volumes: string[]; tmpfs: string[]; inputs: string; flags: string[] }> {
  const volumes: string[] = [];
  const tmpfs: string[] = [];
  const inputs: string[] = [];
  const flags: string[] = [];
  const fail = (what: string) => state.error(i.line, what);
  for (const m of i.mounts) {
    if (m.target === undefined) throw fail(`RUN --mount=type=${m.type}: no target`);
    const target = path.posix.resolve(state.config.WorkingDir || '/', m.target);
    if (m.type === 'tmpfs') {
      tmpfs.push(m.size === undefined ? target : `${target}:size=${m.size}`);
      flags.push(`--mount=type=tmpfs,target=${target}`);
    } else if (m.type === 'cache') {
      const id = m.id ?? target;
      const dir = path.join(context.cacheRoot, createHash('sha256').update(id).digest('hex').slice(0, 32));
      if (!fs.existsSync(dir)) {
        fs.mkdirSync(dir, { recursive: true, mode: m.mode ?? 0o755 });
        fs.chownSync(dir, m.uid ?? 0, m.gid ?? 0);
      }
      volumes.push(`${dir}:${target}`);
      flags.push(`--mount=type=cache,id=${id},target=${target}`);
    } else if (m.type === 'bind') {
      if (!m.readOnly) throw fail('RUN --mount=type=bind,rw is not supported yet');
      const source = m.source ?? '.';
      if (m.from !== undefined) {
        const from = await context.from(m.from, i.line);
        volumes.push(`${path.join(from.root, path.posix.normalize(`/${source}`))}:${target}:ro`);
        inputs.push(`${m.from}=${from.imageId}:${source}`);
      } else {
        const rel = path.posix.normalize(source).replace(/^\/+/, '') || '.';
        if (rel === '..' || rel.startsWith('../'))
          throw fail(`RUN --mount source \`${source}\`: outside the build context`);
        const entries = await context.entries();
        const under = entries.filter((e) => rel === '.' || e.path === rel || e.path.startsWith(`${rel}/`));
        inputs.push(await context.checksums.checksum(under));
        volumes.push(`${path.join(context.root, rel)}:${target}:ro`);
      }
      flags.push(`--mount=type=bind,source=${source},target=${target}${m.from ? `,from=${m.from}` : ''}`);
    } else {
      throw fail(`RUN --mount=type=${m.type} is not supported yet`);
    }
  }
  return { volumes, tmpfs, inputs: inputs.join(' '), flags };
}
