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
import { resolveImage } from '../image/image.js';
import { createHash } from 'node:crypto';
import type { Runtime } from '../runtime/runtime.js';
import type { Store } from '../store/store.js';
import { FailedPrecondition, InvalidArgument, NotFound } from '../util/errors.js';
import { programPath } from '../util/programs.js';
import { spawnSync } from 'node:child_process';
import { secureJoin } from '../runtime/in-root.js';
import type { Mount } from './dockerfile/instructions/types.js';
import { ChecksumCache } from './context/checksum-cache.js';
import { walkContext, type ContextEntry } from './context/walk.js';
import { expandInstruction } from './dockerfile/expand-instruction.js';
import { parseInstructions } from './dockerfile/instructions.js';
import type { Instruction } from './dockerfile/instructions/types.js';
import { DockerfileError } from './dockerfile/node.js';
import { planStages, stagesForTarget, type Stage } from './dockerfile/stages.js';
import { executeSteps, type BuildEvent, type Step } from './execute.js';
import { parentConfig } from './derive-image.js';
import { tagName } from '../image/image.js';
import { namesRegistry } from '../oci/reference.js';
import { commitImage } from '../image/commit.js';
import { StageState } from './stage-state.js';
import { copyStep, type CopyContext } from './copy-step.js';
import { ImageView } from './image-view.js';

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
  /** Stages (by name) whose steps are run again whatever the cache holds. */
  noCacheFilter?: string[];
  /** `RUN --mount=type=secret` contents and `type=ssh` agent sockets, by id. */
  secrets?: Record<string, Buffer>;
  ssh?: Record<string, string>;
  /**
   * Labels on the built image (`docker build --label`, the API's `labels`): a LABEL step at
   * the end of the target stage, as Docker's classic builder adds them.
   */
  labels?: Record<string, string>;
  /** Pull every image FROM names from its registry, even when the store has it. */
  pull?: boolean;
  /** Fetches an image from its registry; how FROM gets what the store lacks. */
  fetch?: (name: string) => Promise<Digest>;
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
  const images = new ImageSource(store, file, o);
  const bases = new Map<number, Digest>();
  const sources = new FromSources(store, plan.stages, results, file, images);
  const context: Context = {
    root: o.context,
    entries: async () => (walked ??= await walkContext(o.context)),
    checksums: ChecksumCache.open(o.context, {
      cacheDir: path.join(store.paths.cache, 'build-context'),
    }),
    from: (name, line) => sources.get(name, line),
    cacheRoot: path.join(store.paths.cache, 'build-mounts'),
    scratch: () => (scratch ??= fs.mkdtempSync(path.join(store.paths.tmp, 'build-'))),
    escape: dockerfile.directives.escape,
    secrets: o.secrets ?? {},
    ssh: o.ssh ?? {},
  };
  let scratch: string | undefined;
  try {
    return await runStages();
  } finally {
    sources.release();
    if (scratch !== undefined) fs.rmSync(scratch, { recursive: true, force: true });
  }

  async function runStages(): Promise<Digest> {
    // Each stage's instructions, with the ONBUILD triggers of an image it starts from first.
    const bodies = new Map<number, Instruction[]>();
    for (const stage of stages) bodies.set(stage.index, [...(await triggers(stage)), ...stage.instructions]);
    const last = stages.at(-1)!;
    const labels = labelInstruction(
      o.labels ?? {},
      escape,
      bodies.get(last.index)!.at(-1)?.endLine ?? last.from.line,
    );
    if (labels) bodies.get(last.index)!.push(labels);
    // Step numbers are fixed before anything runs, since independent stages run at once.
    // ARG makes no step of its own.
    const counted = (s: Stage) => bodies.get(s.index)!.filter((i) => i.kind !== 'ARG').length;
    const total = stages.reduce((n, s) => n + 1 + counted(s), 0);
    const firstIndex = new Map<number, number>();
    let next = 1;
    for (const stage of stages) {
      firstIndex.set(stage.index, next);
      next += 1 + counted(stage);
    }
    const failed = new AbortController();
    const running = new Map<number, Promise<void>>();
    for (const stage of stages) {
      running.set(
        stage.index,
        (async () => {
          await Promise.all(stage.deps.map((d) => running.get(d)));
          failed.signal.throwIfAborted();
          await runStage(stage, bodies.get(stage.index)!, firstIndex.get(stage.index)!, total);
        })().catch((err: unknown) => {
          failed.abort(err);
          throw err;
        }),
      );
    }
    // Wait for every stage, so nothing runs while mounts are released; the first error (each
    // failed stage aborted `failed` with its own) is the build's.
    await Promise.allSettled(running.values());
    if (failed.signal.aborted) throw failed.signal.reason;
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

  async function runStage(stage: Stage, body: Instruction[], index: number, total: number): Promise<void> {
    const base = 'stage' in stage.base ? results.get(stage.base.stage) : bases.get(stage.index);
    o.onEvent?.({
      type: 'step',
      index,
      total,
      text: `FROM ${stage.from.image}${stage.name ? ` AS ${stage.name}` : ''}`,
    });
    if (base) o.onEvent?.({ type: 'done', index, imageId: base, ms: 0 });
    const config = parentConfig(store, base);
    // Triggers run once, in the image built FROM the one that declared them.
    const ranTriggers = 'image' in stage.base && (config.config?.OnBuild ?? []).length > 0;
    if (ranTriggers) delete config.config!.OnBuild;
    const state = new StageState(file, config, {
      buildArgs: o.buildArgs ?? {},
      globalArgs: plan.globalEnv,
      network: o.network,
    });
    const steps: Step[] = [];
    for (const raw of body) {
      const instruction = expandInstruction(raw, state.scope(), { file, escape });
      const step = await toStep(instruction, state, context);
      if (step) steps.push(step);
    }
    const noCache =
      o.noCache === true || (stage.name !== undefined && (o.noCacheFilter ?? []).includes(stage.name));
    const id = await executeSteps(store, runtime, base, steps, {
      noCache,
      output: o.output,
      onEvent: o.onEvent,
      firstIndex: index + 1,
      total,
      dropOnBuild: ranTriggers,
    });
    results.set(stage.index, id);
  }

  /** The stage's base image (pulled when asked or missing) and its ONBUILD triggers, parsed. */
  async function triggers(stage: Stage): Promise<Instruction[]> {
    if (!('image' in stage.base) || stage.base.image === 'scratch') return [];
    const id = await images.resolve(stage.base.image, stage.from.line);
    bases.set(stage.index, id);
    const onBuild = parentConfig(store, id).config?.OnBuild ?? [];
    if (onBuild.length === 0) return [];
    try {
      // Each trigger is reported at the FROM line that brought it in.
      return parseInstructions(onBuild.join('\n'), { file }).instructions.map((i) => ({
        ...i,
        line: stage.from.line,
        endLine: stage.from.line,
      }));
    } catch (err) {
      throw new DockerfileError(
        file,
        stage.from.line,
        `ONBUILD trigger of \`${stage.base.image}\`: ${(err as Error).message}`,
      );
    }
  }
}

/**
 * `LABEL 'k'='v' …` for labels given outside the Dockerfile. Each word is single-quoted, so
 * nothing in it is expanded (a `$` stays a `$`); a quote in it is escaped outside the quotes.
 */
function labelInstruction(
  labels: Record<string, string>,
  escape: string,
  line: number,
): Instruction | undefined {
  const keys = Object.keys(labels).sort();
  if (keys.length === 0) return undefined;
  const word = (text: string) => `'${text.replaceAll("'", `'${escape}''`)}'`;
  return {
    kind: 'LABEL',
    line,
    endLine: line,
    pairs: keys.map((key) => ({ key: word(key), value: word(labels[key]!) })),
  };
}

/**
 * Images named by FROM and `--from`: from the store, or pulled when the name says from where
 * (`127.0.0.1:5000/team/base:1`) and the store lacks it — or always with `--pull`. A bare
 * name is never looked for on Docker Hub. Each name is fetched once per build.
 */
class ImageSource {
  private readonly fetched = new Map<string, Promise<Digest>>();

  constructor(
    private readonly store: Store,
    private readonly file: string,
    private readonly o: Pick<BuildOptions, 'pull' | 'fetch'>,
  ) {}

  resolve(name: string, line: number, what = 'FROM'): Promise<Digest> {
    let known = this.fetched.get(name);
    if (known === undefined) {
      known = this.find(name, line, what);
      this.fetched.set(name, known);
    }
    return known;
  }

  private async find(name: string, line: number, what: string): Promise<Digest> {
    const local = this.local(name);
    const remote = namesRegistry(name) && this.o.fetch !== undefined;
    if (remote && (this.o.pull === true || local === undefined)) {
      try {
        return await this.o.fetch!(name);
      } catch (err) {
        throw new DockerfileError(this.file, line, `${what} \`${name}\`: ${(err as Error).message}`, {
          cause: err,
        });
      }
    }
    if (local === undefined) {
      throw new DockerfileError(
        this.file,
        line,
        `${what} \`${name}\`: no such image in the store (skiff pull it first)`,
      );
    }
    return local;
  }

  private local(name: string): Digest | undefined {
    try {
      return resolveImage(this.store, name).imageId;
    } catch (err) {
      if (err instanceof NotFound) return undefined;
      throw err;
    }
  }
}

interface Context extends CopyContext {
  /** Where `RUN --mount=type=cache` directories live. */
  cacheRoot: string;
  /** `--secret id=…` contents and `--ssh id=socket` paths, by id. */
  secrets: Record<string, Buffer>;
  ssh: Record<string, string>;
}

async function toStep(i: Instruction, state: StageState, context: Context): Promise<Step | undefined> {
  const where = `${state.file}:${i.line}`;
  switch (i.kind) {
    case 'FROM':
      return undefined;
    case 'ARG':
      state.declareArgs(i.args);
      return undefined;
    case 'RUN': {
      if (i.security === 'insecure') {
        throw state.error(
          i.line,
          'RUN --security=insecure is not supported: skiff runs no privileged build step',
        );
      }
      const { argv: command, script } = state.runCommand(i);
      const mounts = await runMounts(i, context, state);
      if (script) {
        const file = path.join(context.scratch(), `script-${i.line}-${script.name}`);
        fs.writeFileSync(file, script.content, { mode: 0o755 });
        mounts.volumes.push(`${file}:/dev/pipes/${script.name}:ro`);
      }
      return {
        kind: 'run',
        text: `RUN ${mounts.flags.map((f) => `${f} `).join('')}${i.command.form === 'exec' ? JSON.stringify(i.command.args) : i.command.command}${i.heredocs.map((h) => `\n${h.content}${h.name}`).join('')}`,
        where,
        command,
        env: [...state.runEnv(), ...mounts.env],
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
    case 'ADD':
      return copyStep(i, state, context);
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
    { root: string; imageId: Digest; entries: ContextEntry[]; view: ImageView }
  >();

  constructor(
    private readonly store: Store,
    private readonly stages: Stage[],
    private readonly results: Map<number, Digest | undefined>,
    private readonly file: string,
    private readonly images: ImageSource,
  ) {}

  async get(name: string, line: number): Promise<{ root: string; imageId: Digest; entries: ContextEntry[] }> {
    const imageId = await this.imageOf(name, line);
    const known = this.mounted.get(imageId);
    if (known) return known;
    const view = ImageView.open(this.store, imageId, 'copy-from-');
    const root = view.root!;
    const source = { root, imageId, entries: await walkContext(root, { ignore: [] }), view };
    this.mounted.set(imageId, source);
    return source;
  }

  release(): void {
    for (const { view } of this.mounted.values()) {
      try {
        view.close();
      } catch {
        // A busy mount is left for `system prune` (tmp/); the build's result does not depend on it.
      }
    }
    this.mounted.clear();
  }

  private async imageOf(name: string, line: number): Promise<Digest> {
    const stage = /^\d+$/.test(name)
      ? this.stages[Number(name)]
      : this.stages.find((s) => s.name === name.toLowerCase());
    if (stage) {
      const id = this.results.get(stage.index);
      if (id === undefined)
        throw new DockerfileError(this.file, line, `--from=${name}: that stage has no filesystem yet`);
      return id;
    }
    return this.images.resolve(name, line, '--from');
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
): Promise<{ volumes: string[]; tmpfs: string[]; inputs: string; flags: string[]; env: string[] }> {
  const env: string[] = [];
  const volumes: string[] = [];
  const tmpfs: string[] = [];
  const inputs: string[] = [];
  const flags: string[] = [];
  const fail = (what: string) => state.error(i.line, what);
  for (const m of i.mounts) {
    if (m.type === 'secret' || m.type === 'ssh') {
      const mounted = secretMount(m, context, state, i.line);
      if (mounted) {
        if (mounted.volume !== '') volumes.push(mounted.volume);
        if (mounted.env) env.push(mounted.env);
      }
      // Never part of the key: a secret changes nothing the step is cached by.
      flags.push(`--mount=type=${m.type}${m.id ? `,id=${m.id}` : ''}`);
      continue;
    }
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
      const source = m.source ?? '.';
      let host: string;
      if (m.from !== undefined) {
        const from = await context.from(m.from, i.line);
        // Resolved inside the image's root: a symlink in it cannot lead to the host's files.
        host = secureJoin(from.root, source);
        inputs.push(`${m.from}=${from.imageId}:${source}`);
      } else {
        const rel = path.posix.normalize(source).replace(/^\/+/, '') || '.';
        if (rel === '..' || rel.startsWith('../'))
          throw fail(`RUN --mount source \`${source}\`: outside the build context`);
        const entries = await context.entries();
        const under = entries.filter((e) => rel === '.' || e.path === rel || e.path.startsWith(`${rel}/`));
        inputs.push(await context.checksums.checksum(under));
        host = secureJoin(context.root, rel);
      }
      if (!fs.existsSync(host)) throw fail(`RUN --mount source \`${source}\`: not found`);
      if (m.readOnly) volumes.push(`${host}:${target}:ro`);
      else {
        // rw: the command may write, but what it writes is thrown away with a copy.
        const copy = path.join(context.scratch(), `bind-${i.line}-${volumes.length}`);
        copyTree(host, copy);
        volumes.push(`${copy}:${target}`);
      }
      flags.push(
        `--mount=type=bind,source=${source},target=${target}${m.from ? `,from=${m.from}` : ''}${m.readOnly ? '' : ',rw'}`,
      );
    } else {
      throw fail(`RUN --mount=type=${m.type} is not supported yet`);
    }
  }
  return { volumes, tmpfs, inputs: inputs.join(' '), flags, env };
}

/**
 * `RUN --mount=type=secret` (a file the build was given with `--secret id=…`, mounted at
 * /run/secrets/ID or the target, or put in an env variable) and `type=ssh` (the agent socket
 * given with `--ssh`, with SSH_AUTH_SOCK pointing at it). Undefined when the build has no
 * such secret and the mount is not required.
 */
function secretMount(
  m: Mount,
  context: Context,
  state: StageState,
  line: number,
): { volume: string; env?: string } | undefined {
  const id =
    m.id ??
    (m.type === 'ssh' ? 'default' : m.target === undefined ? undefined : path.posix.basename(m.target));
  if (id === undefined) throw state.error(line, 'RUN --mount=type=secret: give an id or a target');
  const given = m.type === 'ssh' ? context.ssh[id] : context.secrets[id];
  if (given === undefined) {
    if (m.required === true || m.type === 'ssh') {
      const how = m.type === 'ssh' ? `--ssh ${id}=SOCKET` : `--secret id=${id},src=FILE`;
      throw state.error(line, `RUN --mount=type=${m.type}: no ${m.type} \`${id}\` was given (${how})`);
    }
    return undefined;
  }
  if (m.type === 'ssh') {
    const target = m.target ?? '/run/buildkit/ssh_agent.0';
    return { volume: `${given}:${target}:ro`, env: `SSH_AUTH_SOCK=${target}` };
  }
  // A copy with the mode and owner the mount asks (0400 root by default), read-only.
  const file = path.join(
    context.scratch(),
    `secret-${line}-${createHash('sha256').update(id).digest('hex').slice(0, 8)}`,
  );
  fs.writeFileSync(file, given, { mode: 0o600 });
  fs.chownSync(file, m.uid ?? 0, m.gid ?? 0);
  fs.chmodSync(file, m.mode ?? 0o400);
  if (m.env !== undefined) {
    return m.target === undefined
      ? { volume: '', env: `${m.env}=${given.toString('utf8')}` }
      : { volume: `${file}:${m.target}:ro`, env: `${m.env}=${given.toString('utf8')}` };
  }
  return { volume: `${file}:${m.target ?? `/run/secrets/${id}`}:ro` };
}

/** `cp -a`: modes, owners, links and times kept. */
function copyTree(from: string, to: string): void {
  const r = spawnSync(programPath('cp'), ['-a', '--', from, to], { encoding: 'utf8' });
  if (r.status !== 0)
    throw new FailedPrecondition(`copy \`${from}\`: ${r.stderr.trim() || `cp exited ${r.status}`}`);
}
