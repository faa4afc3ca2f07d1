/**
 * Compose's variable interpolation, applied to every string value of a compose file (never to
 * keys): `$VAR`, `${VAR}`, `${VAR:-default}` (unset or empty), `${VAR-default}` (unset),
 * `${VAR:?message}` / `${VAR?message}` (required), `${VAR:+alt}` / `${VAR+alt}`, and `$$` for a
 * literal `$`. A default may itself hold `${…}`, as Compose v2 allows. Any other `$` is an
 * error, as in Compose (Python's string.Template rejects it too): a typo must not silently
 * become part of a value.
 */
import { InvalidArgument } from '../util/errors.js';

/** The variables a compose file sees: the process environment over the project's `.env`. */
export type Variables = (name: string) => string | undefined;

const NAME = /^[A-Za-z_][A-Za-z0-9_]*/;

/** Thrown with the bare cause; the caller adds the file, line and key. */
export class InterpolationError extends InvalidArgument {
  constructor(message: string) {
    super(message, { code: 'COMPOSE_INTERPOLATION' });
  }
}

export function interpolate(text: string, vars: Variables): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const dollar = text.indexOf('$', i);
    if (dollar < 0) {
      out += text.slice(i);
      break;
    }
    out += text.slice(i, dollar);
    const next = text[dollar + 1];
    if (next === '$') {
      out += '$';
      i = dollar + 2;
      continue;
    }
    if (next === '{') {
      const close = closingBrace(text, dollar + 2);
      if (close < 0)
        throw new InterpolationError(`invalid interpolation format in \`${text}\`: no closing }`);
      out += braced(text.slice(dollar + 2, close), text, vars);
      i = close + 1;
      continue;
    }
    const name = NAME.exec(text.slice(dollar + 1))?.[0];
    if (!name) {
      throw new InterpolationError(
        `invalid interpolation format in \`${text}\`: \`$\` must start a variable or be written \`$$\``,
      );
    }
    out += vars(name) ?? '';
    i = dollar + 1 + name.length;
  }
  return out;
}

/** The index of the `}` closing a `${` whose body starts at `from`, counting nested `${…}`. */
function closingBrace(text: string, from: number): number {
  let depth = 0;
  for (let i = from; i < text.length; i++) {
    if (text[i] === '$' && text[i + 1] === '$') i++;
    else if (text[i] === '$' && text[i + 1] === '{') {
      depth++;
      i++;
    } else if (text[i] === '}') {
      if (depth === 0) return i;
      depth--;
    }
  }
  return -1;
}

function braced(body: string, whole: string, vars: Variables): string {
  const name = NAME.exec(body)?.[0];
  if (!name) throw new InterpolationError(`invalid interpolation format in \`${whole}\`: \`\${${body}}\``);
  const rest = body.slice(name.length);
  const value = vars(name);
  if (rest === '') return value ?? '';
  const op = /^(:?[-?+])/.exec(rest)?.[1];
  if (!op) throw new InterpolationError(`invalid interpolation format in \`${whole}\`: \`\${${body}}\``);
  const arg = rest.slice(op.length);
  // With the colon, an empty value counts as unset (as in sh).
  const set = op.startsWith(':') ? value !== undefined && value !== '' : value !== undefined;
  switch (op.replace(':', '')) {
    case '-':
      return set ? value! : interpolate(arg, vars);
    case '+':
      return set ? interpolate(arg, vars) : '';
    default: {
      if (set) return value!;
      const why = interpolate(arg, vars);
      throw new InterpolationError(
        `required variable \`${name}\` is ${value === undefined ? 'not set' : 'empty'}${why ? `: ${why}` : ''}`,
      );
    }
  }
}
