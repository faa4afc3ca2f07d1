/** The image verbs: import, images, tag, inspect, history, save, load, rmi. */
import fs from 'node:fs';
import type { Engine } from '../engine.js';
import { shortId } from '../oci/digest.js';
import { familiarName, familiarString, parseReference } from '../oci/reference.js';
import { InvalidArgument, NotFound } from '../util/errors.js';
import { humanSize, timeAgo } from '../util/format.js';
import { bool, formatFlag, list, needArgs, parseArgs, str } from './args.js';
import { HISTORY, IMAGES, IMPORT, INSPECT, LOAD, RMI, SAVE, TAG } from './image-flags.js';
import { limitsOf } from './limit-flags.js';
import { table } from './table.js';
import type { Output } from './output.js';

export async function importCommand(engine: Engine, argv: string[], out: Output): Promise<number> {
  const p = parseArgs(argv, IMPORT);
  needArgs(p, IMPORT, 1, 2);
  const [file, tag] = p.positionals as [string, string | undefined];
  if (file !== '-' && !fs.existsSync(file)) throw new InvalidArgument(`import \`${file}\`: no such file`);
  const source = file === '-' ? (process.stdin as AsyncIterable<Buffer>) : file;
  const result = await engine.import(source, {
    tag,
    changes: list(p, 'change'),
    message: str(p, 'message'),
    limits: limitsOf(p, 'import'),
  });
  out.stdout(`${result.id}\n`);
  return 0;
}

export function imagesCommand(engine: Engine, argv: string[], out: Output): number {
  const p = parseArgs(argv, IMAGES);
  needArgs(p, IMAGES, 0, 1);
  const format = formatFlag(p, 'images', ['table', 'json']);
  const images = engine.images({ reference: p.positionals[0] });
  if (format === 'json') {
    out.stdout(`${JSON.stringify(images, null, 2)}\n`);
    return 0;
  }
  const id = (d: string) => (bool(p, 'no-trunc') ? d : shortId(d));
  if (bool(p, 'quiet')) {
    out.stdout([...new Set(images.map((i) => id(i.id)))].map((l) => `${l}\n`).join(''));
    return 0;
  }
  const rows: string[][] = [];
  for (const image of images) {
    const cells = [
      id(image.id),
      timeAgo(image.created),
      humanSize(image.size),
      humanSize(image.shared),
      humanSize(image.unique),
    ];
    if (image.tags.length === 0) rows.push(['<none>', '<none>', ...cells]);
    for (const tag of image.tags) {
      const ref = parseReference(tag);
      rows.push([familiarName(ref), ref.tag ?? '<none>', ...cells]);
    }
  }
  out.stdout(table(['REPOSITORY', 'TAG', 'IMAGE ID', 'CREATED', 'SIZE', 'SHARED', 'UNIQUE'], rows));
  return 0;
}

export async function tagCommand(engine: Engine, argv: string[]): Promise<number> {
  const p = parseArgs(argv, TAG);
  needArgs(p, TAG, 2, 2);
  await engine.tag(p.positionals[0]!, p.positionals[1]!);
  return 0;
}

export function inspectCommand(engine: Engine, argv: string[], out: Output): number {
  const p = parseArgs(argv, INSPECT);
  needArgs(p, INSPECT, 1, Infinity);
  // Its one output is JSON, which --format json may also name.
  formatFlag(p, 'inspect', ['json']);
  const type = str(p, 'type');
  if (type !== undefined && type !== 'image' && type !== 'container') {
    throw new InvalidArgument(`inspect: unknown type \`${type}\` (image or container)`);
  }
  const results = p.positionals.map((name): unknown => {
    if (type !== 'image') {
      try {
        return engine.container(name);
      } catch (err) {
        if (type === 'container' || !(err instanceof NotFound)) throw err;
      }
    }
    return engine.inspect(name);
  });
  out.stdout(`${JSON.stringify(results, null, 2)}\n`);
  return 0;
}

export function historyCommand(engine: Engine, argv: string[], out: Output): number {
  const p = parseArgs(argv, HISTORY);
  needArgs(p, HISTORY, 1, 1);
  const format = formatFlag(p, 'history', ['table', 'json']);
  const rows = engine.history(p.positionals[0]!);
  if (format === 'json') {
    out.stdout(`${JSON.stringify(rows, null, 2)}\n`);
    return 0;
  }
  const noTrunc = bool(p, 'no-trunc');
  const id = (d: string) => (d === '<missing>' || noTrunc ? d : shortId(d));
  if (bool(p, 'quiet')) {
    out.stdout(rows.map((r) => `${id(r.id)}\n`).join(''));
    return 0;
  }
  // A table row is one line: a here-document's lines are shown joined.
  const cut = (text: string) => {
    const s = text.replace(/\s*\n\s*/g, ' ');
    return noTrunc || s.length <= 45 ? s : `${s.slice(0, 44)}…`;
  };
  out.stdout(
    table(
      ['IMAGE', 'CREATED', 'CREATED BY', 'SIZE', 'COMMENT'],
      rows.map((r) => [id(r.id), timeAgo(r.created), cut(r.createdBy), humanSize(r.size), r.comment]),
    ),
  );
  return 0;
}

export async function saveCommand(engine: Engine, argv: string[], _out: Output): Promise<number> {
  const p = parseArgs(argv, SAVE);
  needArgs(p, SAVE, 1, Infinity);
  const format = str(p, 'format') ?? 'oci-archive';
  if (format !== 'oci-archive' && format !== 'docker-archive') {
    throw new InvalidArgument(`save: unknown --format \`${format}\` (oci-archive or docker-archive)`, {
      code: 'USAGE',
    });
  }
  const output = str(p, 'output');
  if (output === undefined && process.stdout.isTTY) {
    throw new InvalidArgument(
      'save: refusing to write an archive to a terminal; use -o FILE or redirect stdout',
    );
  }
  const compression = str(p, 'compression') ?? 'gzip';
  if (compression !== 'gzip' && compression !== 'zstd') {
    throw new InvalidArgument(`save: unknown compression \`${compression}\` (gzip or zstd)`);
  }
  await engine.save(p.positionals, output ?? process.stdout, { format, compression });
  return 0;
}

export async function loadCommand(engine: Engine, argv: string[], out: Output): Promise<number> {
  const p = parseArgs(argv, LOAD);
  needArgs(p, LOAD, 0, 0);
  const input = str(p, 'input');
  if (input !== undefined && !fs.existsSync(input))
    throw new InvalidArgument(`load \`${input}\`: no such file`);
  const loaded = await engine.load(input ?? (process.stdin as AsyncIterable<Buffer>), {
    limits: limitsOf(p, 'load'),
  });
  for (const image of loaded) {
    if (image.tags.length === 0) out.stdout(`Loaded image ID: ${image.id}\n`);
    for (const tag of image.tags) out.stdout(`Loaded image: ${familiarString(parseReference(tag))}\n`);
  }
  return 0;
}

export async function rmiCommand(engine: Engine, argv: string[], out: Output): Promise<number> {
  const p = parseArgs(argv, RMI);
  needArgs(p, RMI, 1, Infinity);
  const result = await engine.removeImages(p.positionals, { force: bool(p, 'force') });
  for (const tag of result.untagged) out.stdout(`Untagged: ${familiarString(parseReference(tag))}\n`);
  for (const id of result.deleted) out.stdout(`Deleted: ${id}\n`);
  return 0;
}
