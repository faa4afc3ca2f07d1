/**
 * What the parser hands to the instruction layer: one node per instruction with its line
 * range, and the one error shape of the whole Dockerfile frontend.
 */
import { InvalidArgument } from '../../util/errors.js';

/** `--name=value`, or `--name` alone (a boolean flag such as `--link`): value undefined. */
export interface Flag {
  name: string;
  value?: string;
}

/**
 * A here-document (Dockerfile reference, "Here-Documents"). `expand` is false when the
 * delimiter was quoted (`<<"EOF"`, `<<'EOF'`); `chomp` records `<<-`, whose leading tabs are
 * already stripped from `content`.
 */
export interface Heredoc {
  name: string;
  content: string;
  expand: boolean;
  chomp: boolean;
  fd?: number;
}

export interface Node {
  keyword: string;
  startLine: number;
  endLine: number;
  flags: Flag[];
  /** Everything after the flags, as written (continuations joined). */
  rest: string;
  /** Set for the instructions that accept the exec form, when `rest` is a JSON string array. */
  json?: string[];
  heredocs: Heredoc[];
}

export interface Directives {
  syntax?: string;
  escape: '\\' | '`';
  check?: string;
}

/** Accepted but worth telling the user, like BuildKit's build checks (reference, "Build checks"). */
export interface Warning {
  line: number;
  rule: 'NoEmptyContinuation' | 'MaintainerDeprecated';
  message: string;
}

export interface ParseResult {
  directives: Directives;
  nodes: Node[];
  warnings: Warning[];
}

/** Any problem with a Dockerfile. The message starts with `file:line:`, as BuildKit's do. */
export class DockerfileError extends InvalidArgument {
  readonly file: string;
  readonly line: number;
  readonly endLine: number;

  constructor(file: string, line: number, message: string, options?: { endLine?: number; cause?: unknown }) {
    super(`${file}:${line}: ${message}`, { code: 'DOCKERFILE', cause: options?.cause });
    this.file = file;
    this.line = line;
    this.endLine = options?.endLine ?? line;
  }
}
