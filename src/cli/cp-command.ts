/**
 * `skiff cp CONTAINER:SRC DEST` and `skiff cp SRC CONTAINER:DEST`, as `docker cp` and
 * `podman cp`: one side names a container, the other is a host path. A path that starts with
 * "/" or "." is always the host's (so `./a:b` is a file, not a container `./a`).
 */
import type { Engine } from '../engine.js';
import { InvalidArgument } from '../util/errors.js';
import { needArgs, parseArgs } from './args.js';
import { CP } from './container-flags.js';
import type { Output } from './output.js';

interface Side {
  container?: string;
  path: string;
}

function side(arg: string): Side {
  if (arg.startsWith('/') || arg.startsWith('.')) return { path: arg };
  const colon = arg.indexOf(':');
  if (colon <= 0) return { path: arg };
  return { container: arg.slice(0, colon), path: arg.slice(colon + 1) };
}

export async function cpCommand(engine: Engine, argv: string[], _out: Output): Promise<number> {
  const p = parseArgs(argv, CP);
  needArgs(p, CP, 2, 2);
  const [from, to] = p.positionals.map(side) as [Side, Side];
  if (from.container !== undefined && to.container !== undefined)
    throw new InvalidArgument('cp: copying between containers is not supported; copy through the host', {
      code: 'USAGE',
    });
  if (from.container === undefined && to.container === undefined)
    throw new InvalidArgument('cp: one of the paths must name a container (CONTAINER:PATH)', {
      code: 'USAGE',
    });
  if (from.path === '' || to.path === '') throw new InvalidArgument('cp: a path is empty', { code: 'USAGE' });
  if (from.container !== undefined) await engine.copyFromContainer(from.container, from.path, to.path);
  else await engine.copyToContainer(from.path, to.container!, to.path);
  return 0;
}
