/** `skiff network …` and `skiff volume …`: the same four verbs over two kinds of object. */
import type { Engine } from '../engine.js';
import { InvalidArgument } from '../util/errors.js';
import { timeAgo } from '../util/format.js';
import { bool, needArgs, parseArgs, str } from './args.js';
import { table } from './table.js';
import type { Output } from './output.js';

/** What `ls`, `inspect` and `rm` need to know about one kind of named object. */
interface Kind<T extends { name: string }> {
  noun: string;
  list(): T[];
  inspect(name: string): T;
  remove(name: string, force: boolean): void;
  headers: string[];
  row(item: T): string[];
}

/** ls | inspect | rm for a kind; undefined for any other verb. */
function listVerbs<T extends { name: string }>(
  kind: Kind<T>,
  verb: string | undefined,
  rest: string[],
  out: Output,
): number | undefined {
  const command = `${kind.noun} ${verb ?? ''}`;
  switch (verb) {
    case 'ls':
    case 'list': {
      const p = parseArgs(
        rest,
        [
          { name: 'format', kind: 'string' },
          { name: 'quiet', short: 'q', kind: 'boolean' },
        ],
        command,
      );
      needArgs(p, command, 0, 0, '[--format json] [-q]');
      const items = kind.list();
      if (str(p, 'format') === 'json') out.stdout(`${JSON.stringify(items, null, 2)}\n`);
      else if (bool(p, 'quiet')) out.stdout(items.map((i) => `${i.name}\n`).join(''));
      else
        out.stdout(
          table(
            kind.headers,
            items.map((i) => kind.row(i)),
          ),
        );
      return 0;
    }
    case 'inspect': {
      const p = parseArgs(rest, [], command);
      needArgs(p, command, 1, Infinity, 'NAME...');
      out.stdout(
        `${JSON.stringify(
          p.positionals.map((n) => kind.inspect(n)),
          null,
          2,
        )}\n`,
      );
      return 0;
    }
    case 'rm':
    case 'remove': {
      const p = parseArgs(rest, [{ name: 'force', short: 'f', kind: 'boolean' }], command);
      needArgs(p, command, 1, Infinity, '[-f] NAME...');
      for (const name of p.positionals) {
        kind.remove(name, bool(p, 'force'));
        out.stdout(`${name}\n`);
      }
      return 0;
    }
    default:
      return undefined;
  }
}

export function networkCommand(engine: Engine, argv: string[], out: Output): number {
  const [verb, ...rest] = argv;
  if (verb === 'create') {
    const p = parseArgs(
      rest,
      [
        { name: 'subnet', kind: 'string' },
        { name: 'driver', short: 'd', kind: 'string' },
      ],
      'network create',
    );
    needArgs(p, 'network create', 1, 1, '[--subnet CIDR] NAME');
    const driver = str(p, 'driver') ?? 'bridge';
    if (driver !== 'bridge')
      throw new InvalidArgument(`network create: driver \`${driver}\` is not supported (bridge)`);
    out.stdout(`${engine.createNetwork(p.positionals[0]!, { subnet: str(p, 'subnet') }).id}\n`);
    return 0;
  }
  const done = listVerbs(
    {
      noun: 'network',
      list: () => engine.networks(),
      inspect: (name) => engine.network(name),
      remove: (name) => engine.removeNetwork(name),
      headers: ['NETWORK ID', 'NAME', 'DRIVER', 'SUBNET', 'CONTAINERS'],
      row: (n) => [n.id.slice(0, 12), n.name, n.driver, n.subnet, String(n.containers.length)],
    },
    verb,
    rest,
    out,
  );
  if (done !== undefined) return done;
  throw new InvalidArgument(`network: unknown command \`${verb ?? ''}\` (create, ls, inspect, rm)`, {
    code: 'USAGE',
  });
}

export function volumeCommand(engine: Engine, argv: string[], out: Output): number {
  const [verb, ...rest] = argv;
  if (verb === 'create') {
    const p = parseArgs(rest, [], 'volume create');
    needArgs(p, 'volume create', 1, 1, 'NAME');
    out.stdout(`${engine.createVolume(p.positionals[0]!).name}\n`);
    return 0;
  }
  const done = listVerbs(
    {
      noun: 'volume',
      list: () => engine.volumes(),
      inspect: (name) => engine.volume(name),
      remove: (name, force) => engine.removeVolume(name, { force }),
      headers: ['VOLUME NAME', 'CREATED', 'USED BY'],
      row: (v) => [v.name, timeAgo(v.created), v.usedBy.join(',')],
    },
    verb,
    rest,
    out,
  );
  if (done !== undefined) return done;
  throw new InvalidArgument(`volume: unknown command \`${verb ?? ''}\` (create, ls, inspect, rm)`, {
    code: 'USAGE',
  });
}
