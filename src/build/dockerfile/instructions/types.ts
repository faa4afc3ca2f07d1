/**
 * Typed Dockerfile instructions. Values are kept as written (unexpanded): which variables
 * are in scope depends on the stage being built and its build arguments, so expansion is
 * done later with expand-instruction.ts, which knows which fields the reference lets expand.
 */
import type { Heredoc } from '../node.js';

interface At {
  line: number;
  endLine: number;
}

/** The exec form runs argv directly; the shell form goes to the SHELL (reference, "Shell and exec form"). */
export type CommandForm = { form: 'exec'; args: string[] } | { form: 'shell'; command: string };

export interface FromInstruction extends At {
  kind: 'FROM';
  image: string;
  /** The stage name after `AS`, lower-cased: stage names are case-insensitive. */
  name?: string;
  platform?: string;
}

export type MountType = 'bind' | 'cache' | 'tmpfs' | 'secret' | 'ssh';

/** One `RUN --mount=…` (reference, "RUN --mount"). */
export interface Mount {
  type: MountType;
  target?: string;
  source?: string;
  from?: string;
  readOnly: boolean;
  id?: string;
  sharing?: 'shared' | 'private' | 'locked';
  mode?: number;
  uid?: number;
  gid?: number;
  required?: boolean;
  size?: number;
  env?: string;
}

export interface RunInstruction extends At {
  kind: 'RUN';
  command: CommandForm;
  heredocs: Heredoc[];
  mounts: Mount[];
  network?: 'default' | 'none' | 'host';
  security?: 'sandbox' | 'insecure';
}

export interface CmdInstruction extends At {
  kind: 'CMD' | 'ENTRYPOINT';
  command: CommandForm;
}

export interface CopyInstruction extends At {
  kind: 'COPY' | 'ADD';
  /** Source words; heredoc markers (`<<EOF`) are not here but in `heredocs`. */
  sources: string[];
  dest: string;
  heredocs: Heredoc[];
  from?: string;
  chown?: string;
  chmod?: number;
  link: boolean;
  exclude: string[];
  parents: boolean;
  /** ADD only. */
  checksum?: string;
  keepGitDir?: boolean;
}

export interface KeyValue {
  key: string;
  value: string;
}

export interface EnvInstruction extends At {
  kind: 'ENV' | 'LABEL';
  pairs: KeyValue[];
}

export interface ArgInstruction extends At {
  kind: 'ARG';
  args: { name: string; default?: string }[];
}

export interface ExposeInstruction extends At {
  kind: 'EXPOSE';
  ports: string[];
}

export interface VolumeInstruction extends At {
  kind: 'VOLUME';
  paths: string[];
}

export interface UserInstruction extends At {
  kind: 'USER';
  user: string;
  group?: string;
}

export interface WordInstruction extends At {
  kind: 'WORKDIR' | 'STOPSIGNAL' | 'MAINTAINER';
  value: string;
}

export interface ShellInstruction extends At {
  kind: 'SHELL';
  args: string[];
}

/** Durations in milliseconds; absent means the runtime's default. */
export interface HealthcheckInstruction extends At {
  kind: 'HEALTHCHECK';
  test: 'NONE' | CommandForm;
  interval?: number;
  timeout?: number;
  startPeriod?: number;
  startInterval?: number;
  retries?: number;
}

export interface OnbuildInstruction extends At {
  kind: 'ONBUILD';
  /** The trigger as written, stored in the image config and parsed again by the child build. */
  expression: string;
  instruction: Instruction;
}

export type Instruction =
  | FromInstruction
  | RunInstruction
  | CmdInstruction
  | CopyInstruction
  | EnvInstruction
  | ArgInstruction
  | ExposeInstruction
  | VolumeInstruction
  | UserInstruction
  | WordInstruction
  | ShellInstruction
  | HealthcheckInstruction
  | OnbuildInstruction;
