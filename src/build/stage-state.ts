/**
 * What a stage knows while its instructions are turned into steps: the image config so far
 * (ENV, WORKDIR, USER, SHELL…), the ARGs it declared, and the variables in scope for
 * expansion — ENV overrides an ARG of the same name, and an ARG declared in a stage without a
 * default takes the global value (Dockerfile reference, "ARG", "Using ARG variables").
 */
import path from 'node:path';
import type { ContainerConfig, ImageConfig } from '../oci/config.js';
import type { Step } from './execute.js';
import type { Instruction, RunInstruction } from './dockerfile/instructions/types.js';
import { DockerfileError } from './dockerfile/node.js';

const DEFAULT_SHELL = ['/bin/sh', '-c'];

export class StageState {
  /** The config as the steps so far leave it. */
  readonly config: ContainerConfig;
  readonly network: 'bridge' | 'none' | 'host' | undefined;
  private readonly args = new Map<string, string>();
  private readonly buildArgs: Record<string, string>;
  private readonly globalArgs: ReadonlyMap<string, string>;
  private cmdSetHere = false;

  constructor(
    /** How errors name the Dockerfile. */
    readonly file: string,
    parent: ImageConfig,
    o: {
      buildArgs: Record<string, string>;
      globalArgs: ReadonlyMap<string, string>;
      network?: 'bridge' | 'none' | 'host';
    },
  ) {
    this.config = structuredClone(parent.config ?? {});
    this.buildArgs = o.buildArgs;
    this.globalArgs = o.globalArgs;
    this.network = o.network;
  }

  /** The variables an instruction's words expand in. */
  scope(): Map<string, string> {
    const scope = new Map(this.args);
    for (const [k, v] of envPairs(this.config.Env)) scope.set(k, v);
    return scope;
  }

  declareArgs(args: { name: string; default?: string }[]): void {
    for (const a of args) {
      const value = this.buildArgs[a.name] ?? a.default ?? this.globalArgs.get(a.name);
      if (value !== undefined) this.args.set(a.name, value);
    }
  }

  /** The ARGs a RUN sees (and its cache key includes): those ENV does not override. */
  visibleArgs(): Record<string, string> {
    const env = new Set(envPairs(this.config.Env).map(([k]) => k));
    return Object.fromEntries([...this.args].filter(([k]) => !env.has(k)));
  }

  runEnv(): string[] {
    return [...(this.config.Env ?? []), ...Object.entries(this.visibleArgs()).map(([k, v]) => `${k}=${v}`)];
  }

  /** An error naming the Dockerfile and `line`. */
  error(line: number, message: string): DockerfileError {
    return new DockerfileError(this.file, line, message);
  }

  /**
   * The RUN's argv. Here-documents go to the shell with the command line, each followed by
   * its delimiter, as BuildKit does; a lone `RUN <<EOF` is the script itself. A lone one that
   * starts with `#!` is run as a file (`script`), which the caller mounts at /dev/pipes/NAME.
   */
  runCommand(i: RunInstruction): { argv: string[]; script?: { name: string; content: string } } {
    if (i.command.form === 'exec') return { argv: i.command.args };
    const only = i.heredocs.length === 1 && /^\s*<<-?(["']?)\w+\1\s*$/.test(i.command.command);
    if (only && i.heredocs[0]!.content.startsWith('#!')) {
      const { name, content } = i.heredocs[0]!;
      return { argv: [`/dev/pipes/${name}`], script: { name, content } };
    }
    if (only) return { argv: [...this.shell(), i.heredocs[0]!.content] };
    const script = i.command.command + i.heredocs.map((h) => `\n${h.content}${h.name}`).join('');
    return { argv: [...this.shell(), script] };
  }

  /**
   * `--chown=uid[:gid]` at once (a lone uid is also the gid, as Docker has it); undefined
   * when a name is given, which the executor looks up in the image as the step runs.
   */
  owner(chown: string | undefined, line: number): { uid: number; gid: number } | undefined {
    if (chown === undefined) return undefined;
    if (!/^[^:\s]+(:[^:\s]+)?$/.test(chown))
      throw this.error(line, `--chown=${chown}: expected user[:group]`);
    const m = /^(\d+)(?::(\d+))?$/.exec(chown);
    return m ? { uid: Number(m[1]), gid: Number(m[2] ?? m[1]) } : undefined;
  }

  /** A config-only step, applied to this state at once and to the image by the executor. */
  configStep(where: string, text: string, apply: (c: ContainerConfig) => void): Step {
    apply(this.config);
    return { kind: 'config', text, where, apply };
  }

  configInstruction(i: Instruction, where: string): Step | undefined {
    switch (i.kind) {
      case 'ENV':
        return this.configStep(where, `ENV ${i.pairs.map((p) => `${p.key}=${p.value}`).join(' ')}`, (c) => {
          const env = new Map(envPairs(c.Env));
          for (const p of i.pairs) env.set(p.key, p.value);
          c.Env = [...env].map(([k, v]) => `${k}=${v}`);
        });
      case 'LABEL':
        return this.configStep(where, `LABEL ${i.pairs.map((p) => `${p.key}=${p.value}`).join(' ')}`, (c) => {
          c.Labels = { ...c.Labels, ...Object.fromEntries(i.pairs.map((p) => [p.key, p.value])) };
        });
      case 'EXPOSE':
        return this.configStep(where, `EXPOSE ${i.ports.join(' ')}`, (c) => {
          c.ExposedPorts = { ...c.ExposedPorts };
          for (const port of i.ports.flatMap(exposedPorts)) c.ExposedPorts[port] = {};
        });
      case 'VOLUME':
        return this.configStep(where, `VOLUME ${JSON.stringify(i.paths)}`, (c) => {
          c.Volumes = { ...c.Volumes, ...Object.fromEntries(i.paths.map((p) => [p, {}])) };
        });
      case 'USER': {
        const user = i.group ? `${i.user}:${i.group}` : i.user;
        return this.configStep(where, `USER ${user}`, (c) => {
          c.User = user;
        });
      }
      case 'WORKDIR': {
        const dir = path.posix.resolve(this.config.WorkingDir || '/', i.value);
        const step = this.configStep(where, `WORKDIR ${dir}`, (c) => {
          c.WorkingDir = dir;
        });
        // BuildKit makes the directory, as the current USER, even if nothing uses it.
        return { ...step, mkdir: { path: dir, user: this.config.User || undefined } } as Step;
      }
      case 'STOPSIGNAL':
        return this.configStep(where, `STOPSIGNAL ${i.value}`, (c) => {
          c.StopSignal = i.value;
        });
      case 'MAINTAINER':
        return this.configStep(where, `MAINTAINER ${i.value}`, () => undefined);
      case 'SHELL':
        return this.configStep(where, `SHELL ${JSON.stringify(i.args)}`, (c) => {
          c.Shell = i.args;
        });
      case 'HEALTHCHECK': {
        const ns = (ms: number | undefined) => (ms === undefined ? undefined : ms * 1_000_000);
        const test =
          i.test === 'NONE'
            ? ['NONE']
            : i.test.form === 'exec'
              ? ['CMD', ...i.test.args]
              : ['CMD-SHELL', i.test.command];
        return this.configStep(where, `HEALTHCHECK ${JSON.stringify(test)}`, (c) => {
          c.Healthcheck = dropUndefined({
            Test: test,
            Interval: ns(i.interval),
            Timeout: ns(i.timeout),
            StartPeriod: ns(i.startPeriod),
            StartInterval: ns(i.startInterval),
            Retries: i.retries,
          });
        });
      }
      case 'CMD':
      case 'ENTRYPOINT': {
        const argv = i.command.form === 'exec' ? i.command.args : [...this.shell(), i.command.command];
        const resetCmd = i.kind === 'ENTRYPOINT' && !this.cmdSetHere;
        if (i.kind === 'CMD') this.cmdSetHere = true;
        return this.configStep(where, `${i.kind} ${JSON.stringify(argv)}`, (c) => {
          if (i.kind === 'CMD') c.Cmd = argv;
          else {
            c.Entrypoint = argv;
            // Reference, "Understand how CMD and ENTRYPOINT interact": an ENTRYPOINT resets a
            // CMD inherited from the base image.
            if (resetCmd) c.Cmd = null;
          }
        });
      }
      default:
        return undefined;
    }
  }

  private shell(): string[] {
    return this.config.Shell && this.config.Shell.length > 0 ? this.config.Shell : DEFAULT_SHELL;
  }
}

function envPairs(env: string[] | undefined): [string, string][] {
  return (env ?? []).map((e) => {
    const eq = e.indexOf('=');
    return eq < 0 ? [e, ''] : [e.slice(0, eq), e.slice(eq + 1)];
  });
}

/** "80", "80/udp", "8000-8002/tcp" → "80/tcp"… as Docker stores ExposedPorts. */
function exposedPorts(spec: string): string[] {
  const [range, proto = 'tcp'] = spec.split('/');
  const [start, end = start] = range!.split('-');
  const out: string[] = [];
  for (let p = Number(start); p <= Number(end); p++) out.push(`${p}/${proto.toLowerCase()}`);
  return out;
}

function dropUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
