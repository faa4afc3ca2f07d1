/**
 * Validation against the Compose specification's JSON schema: `compose-spec.json` beside this
 * file is the copy Compose 1.29.2 ships (`compose/config/compose_spec.json`, Apache-2.0, see
 * `compose-spec.LICENSE`), kept as data and never edited, so that what counts as Compose is
 * Compose's own word. Of ajv's errors the one reported is the most precise: an unknown key
 * first (the first in the file), else the deepest place, with the alternatives of a `oneOf` put
 * together.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { FailedPrecondition } from '../util/errors.js';
import { keyText, type ComposeSource, type Path } from './compose-source.js';

interface AjvError {
  instancePath: string;
  keyword: string;
  params: Record<string, unknown>;
  message?: string;
}
type Validate = ((data: unknown) => boolean) & { errors?: AjvError[] | null };

let compiled: Validate | undefined;

/** The schema file, found from this module in src/deploy/, dist/src/deploy/ or the bundle in dist/cli/. */
function schemaFile(): string {
  for (let dir = path.dirname(fileURLToPath(import.meta.url)); ; dir = path.dirname(dir)) {
    for (const candidate of [
      path.join(dir, 'compose-spec.json'),
      path.join(dir, 'src/deploy/compose-spec.json'),
    ]) {
      if (fs.existsSync(candidate)) return candidate;
    }
    if (path.dirname(dir) === dir) {
      throw new FailedPrecondition('read the Compose schema: `src/deploy/compose-spec.json` is missing');
    }
  }
}

async function validator(): Promise<Validate> {
  if (compiled) return compiled;
  // ajv is CommonJS: its class is a property of module.exports both under Node and in the
  // esbuild bundle, which gives a CommonJS module only as the default export.
  const { Ajv } = (await import('ajv')).default;
  const schema = JSON.parse(fs.readFileSync(schemaFile(), 'utf8')) as Record<string, unknown>;
  // The file is written for draft 2019-09 but with draft-04 `id`s, which ajv refuses; neither
  // changes what validates, so they are dropped here rather than edited in the copy.
  delete schema['$schema'];
  dropIds(schema, undefined);
  const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
  compiled = ajv.compile(schema) as unknown as Validate;
  return compiled;
}

function dropIds(node: unknown, parentKey: string | undefined): void {
  if (Array.isArray(node)) {
    for (const item of node) dropIds(item, undefined);
    return;
  }
  if (typeof node !== 'object' || node === null) return;
  const o = node as Record<string, unknown>;
  if (parentKey !== 'properties' && typeof o['id'] === 'string') delete o['id'];
  for (const [k, v] of Object.entries(o)) dropIds(v, k);
}

/** Throws the first schema violation of `source`, with its line. */
export async function validateSchema(source: ComposeSource): Promise<void> {
  const validate = await validator();
  if (validate(source.data)) return;
  const errors = validate.errors ?? [];
  const pathOf = (e: AjvError) => toPath(source.data, e.instancePath);
  const unknown = errors
    .filter((e) => e.keyword === 'additionalProperties')
    .map((e) => [...pathOf(e), String(e.params['additionalProperty'])])
    .sort((a, b) => source.lineOf(a) - source.lineOf(b))[0];
  if (unknown) throw source.error(unknown, `unknown key ${keyText(unknown)}`, 'COMPOSE_UNKNOWN_KEY');
  const deepest = Math.max(...errors.map((e) => pathOf(e).length));
  const here = errors.filter((e) => pathOf(e).length === deepest);
  const p = pathOf(here[0]!);
  const key = keyText(p);
  const types = [
    ...new Set(here.filter((e) => e.keyword === 'type').flatMap((e) => [e.params['type']].flat())),
  ];
  const first = here.find((e) => e.keyword !== 'oneOf' && e.keyword !== 'anyOf' && e.keyword !== 'type');
  let what: string;
  if (types.length > 0 && !first) what = `must be ${types.join(' or ')}`;
  else if (first?.keyword === 'enum') {
    what = `must be one of ${(first.params['allowedValues'] as unknown[]).join(', ')}`;
  } else if (first?.keyword === 'required') what = `needs \`${String(first.params['missingProperty'])}\``;
  else if (first?.keyword === 'uniqueItems') what = 'lists the same item twice';
  else if (first) what = first.message ?? 'is invalid';
  else what = 'has none of the forms Compose allows';
  throw source.error(p, key ? `${key} ${what}` : what);
}

/** A JSON pointer as a path, array indexes as numbers. */
function toPath(data: unknown, pointer: string): Path {
  const result: Path = [];
  let node = data;
  for (const raw of pointer.split('/').slice(1)) {
    const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(node)) {
      result.push(Number(seg));
      node = node[Number(seg)];
    } else {
      result.push(seg);
      node = (node as Record<string, unknown> | undefined)?.[seg];
    }
  }
  return result;
}
