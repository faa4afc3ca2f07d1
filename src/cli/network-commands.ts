/** `skiff network …` and `skiff volume …`. */
import type { Engine } from '../engine.js';
import { InvalidArgument } from '../util/errors.js';
import { timeAgo } from '../util/format.js';
import { bool, needArgs, parseArgs, str } from './args.js';
import { table } from './table.js';
import type { Output } from './output.js';

export function networkCommand(engine: Engine, argv: string[], out: Output): number {
  const [verb, ...rest] = argv;
  const networks = engine.runtime.networks;
  switch (verb) {
    case 'create': {
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
      const info = networks.create(p.positionals[0]!, { subnet: str(p, 'subnet') });
      out.stdout(`${info.id}\n`);
      return 0;
    }
    case 'ls':
    case 'list': {
      const p = parseArgs(
        rest,
        [
          { name: 'format', kind: 'string' },
          { name: 'quiet', short: 'q', kind: 'boolean' },
        ],
        'network ls',
      );
      const list = networks.list();
      if (str(p, 'format') === 'json') out.stdout(`${JSON.stringify(list, null, 2)}\n`);
      else if (bool(p, 'quiet')) out.stdout(list.map((n) => `${n.name}\n`).join(''));
      else
        out.stdout(
          table(
            ['NETWORK ID', 'NAME', 'DRIVER', 'SUBNET', 'CONTAINERS'],
            list.map((n) => [n.id.slice(0, 12), n.name, n.driver, n.subnet, String(n.containers.length)]),
          ),
        );
      return 0;
    }
    case 'inspect': {
      const p = parseArgs(rest, [], 'network inspect');
      needArgs(p, 'network inspect', 1, Infinity, 'NAME...');
      out.stdout(
        `${JSON.stringify(
          p.positionals.map((n) => networks.inspect(n)),
          null,
          2,
        )}\n`,
      );
      return 0;
    }
    case 'rm':
    case 'remove': {
      const p = parseArgs(rest, [], 'network rm');
      needArgs(p, 'network rm', 1, Infinity, 'NAME...');
      for (const name of p.positionals) {
        networks.remove(name);
        out.stdout(`${name}\n`);
      }
      return 0;
    }
    default:
      throw new InvalidArgument(`network: unknown command \`${verb ?? ''}\` (create, ls, inspect, rm)`, {
        code: 'USAGE',
      });
  }
}

export function volumeCommand(engine: Engine, argv: string[], out: Output): number {
  const [verb, ...rest] = argv;
  const volumes = engine.runtime.volumes;
  switch (verb) {
    case 'create': {
      const p = parseArgs(rest, [], 'volume create');
      needArgs(p, 'volume create', 1, 1, 'NAME');
      out.stdout(`${volumes.create(p.positionals[0]!).name}\n`);
      return 0;
    }
    case 'ls':
    case 'list': {
      const p = parseArgs(
        rest,
        [
          { name: 'format', kind: 'string' },
          { name: 'quiet', short: 'q', kind: 'boolean' },
        ],
        'volume ls',
      );
      const list = volumes.list();
      if (str(p, 'format') === 'json') out.stdout(`${JSON.stringify(list, null, 2)}\n`);
      else if (bool(p, 'quiet')) out.stdout(list.map((v) => `${v.name}\n`).join(''));
      else
        out.stdout(
          table(
            ['VOLUME NAME', 'CREATED', 'USED BY'],
            list.map((v) => [v.name, timeAgo(v.created), v.usedBy.join(',')]),
          ),
        );
      return 0;
    }
    case 'inspect': {
      const p = parseArgs(rest, [], 'volume inspect');
      needArgs(p, 'volume inspect', 1, Infinity, 'NAME...');
      out.stdout(
        `${JSON.stringify(
          p.positionals.map((n) => volumes.inspect(n)),
          null,
          2,
        )}\n`,
      );
      return 0;
    }
    case 'rm':
    case 'remove': {
      const p = parseArgs(rest, [{ name: 'force', short: 'f', kind: 'boolean' }], 'volume rm');
      needArgs(p, 'volume rm', 1, Infinity, '[-f] NAME...');
      for (const name of p.positionals) {
        volumes.remove(name, { force: bool(p, 'force') });
        out.stdout(`${name}\n`);
      }
      return 0;
    }
    default:
      throw new InvalidArgument(`volume: unknown command \`${verb ?? ''}\` (create, ls, inspect, rm)`, {
        code: 'USAGE',
      });
  }
}
