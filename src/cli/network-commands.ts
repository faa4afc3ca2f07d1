/**
 * `skiff network …` and `skiff volume …`: the same four verbs over two kinds of object, and
 * `network connect|disconnect` of a container.
 */
import type { Engine } from '../engine.js';
import { InvalidArgument } from '../util/errors.js';
import { humanSize, timeAgo } from '../util/format.js';
import {
  bool,
  filterOption,
  formatFlag,
  labelOption,
  list,
  needArgs,
  parseArgs,
  str,
  type CommandSpec,
} from './args.js';
import { subcommandNames } from './commands.js';
import {
  NETWORK_CONNECT,
  NETWORK_CREATE,
  NETWORK_DISCONNECT,
  NETWORK_INSPECT,
  NETWORK_LS,
  NETWORK_PRUNE,
  NETWORK_RM,
  VOLUME_CREATE,
  VOLUME_INSPECT,
  VOLUME_LS,
  VOLUME_PRUNE,
  VOLUME_RM,
} from './network-flags.js';
import { table } from './table.js';
import type { Output } from './output.js';

/** What `ls`, `inspect` and `rm` need to know about one kind of named object. */
interface Kind<T extends { name: string }> {
  list(): T[];
  inspect(name: string): T;
  remove(name: string, force: boolean): void;
  headers: string[];
  row(item: T): string[];
  /** What `ls`, `inspect` and `rm` of this kind parse. */
  commands: { ls: CommandSpec; inspect: CommandSpec; rm: CommandSpec };
}

/** ls | inspect | rm for a kind; undefined for any other verb. */
function listVerbs<T extends { name: string }>(
  kind: Kind<T>,
  verb: string | undefined,
  rest: string[],
  out: Output,
): number | undefined {
  switch (verb) {
    case 'ls':
    case 'list': {
      const p = parseArgs(rest, kind.commands.ls);
      needArgs(p, kind.commands.ls, 0, 0);
      const format = formatFlag(p, kind.commands.ls.name, ['table', 'json']);
      const items = kind.list();
      if (format === 'json') out.stdout(`${JSON.stringify(items, null, 2)}\n`);
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
      const p = parseArgs(rest, kind.commands.inspect);
      needArgs(p, kind.commands.inspect, 1, Infinity);
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
      const p = parseArgs(rest, kind.commands.rm);
      needArgs(p, kind.commands.rm, 1, Infinity);
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

export async function networkCommand(engine: Engine, argv: string[], out: Output): Promise<number> {
  const [verb, ...rest] = argv;
  if (verb === 'connect') {
    const p = parseArgs(rest, NETWORK_CONNECT);
    needArgs(p, NETWORK_CONNECT, 2, 2);
    const [network, container] = p.positionals as [string, string];
    await engine.connectNetwork(network, container, { aliases: list(p, 'alias'), ip: str(p, 'ip') });
    return 0;
  }
  if (verb === 'disconnect') {
    const p = parseArgs(rest, NETWORK_DISCONNECT);
    needArgs(p, NETWORK_DISCONNECT, 2, 2);
    const [network, container] = p.positionals as [string, string];
    await engine.disconnectNetwork(network, container, { force: bool(p, 'force') });
    return 0;
  }
  if (verb === 'prune') {
    const p = parseArgs(rest, NETWORK_PRUNE);
    needArgs(p, NETWORK_PRUNE, 0, 0);
    const { deleted } = await engine.pruneNetworks(filterOption(p, 'network prune'));
    for (const name of deleted) out.stdout(`${name}\n`);
    out.stdout(`Deleted ${deleted.length} networks\n`);
    return 0;
  }
  if (verb === 'create') {
    const p = parseArgs(rest, NETWORK_CREATE);
    needArgs(p, NETWORK_CREATE, 1, 1);
    const driver = str(p, 'driver') ?? 'bridge';
    if (driver !== 'bridge')
      throw new InvalidArgument(`network create: driver \`${driver}\` is not supported (bridge)`);
    const options = { subnet: str(p, 'subnet'), labels: labelOption(p) };
    out.stdout(`${engine.createNetwork(p.positionals[0]!, options).id}\n`);
    return 0;
  }
  const done = listVerbs(
    {
      list: () => engine.networks(),
      inspect: (name) => engine.network(name),
      remove: (name) => engine.removeNetwork(name),
      headers: ['NETWORK ID', 'NAME', 'DRIVER', 'SUBNET', 'CONTAINERS'],
      row: (n) => [n.id.slice(0, 12), n.name, n.driver, n.subnet, String(n.containers.length)],
      commands: { ls: NETWORK_LS, inspect: NETWORK_INSPECT, rm: NETWORK_RM },
    },
    verb,
    rest,
    out,
  );
  if (done !== undefined) return done;
  throw new InvalidArgument(`network: unknown command \`${verb ?? ''}\` (${subcommandNames('network')})`, {
    code: 'USAGE',
  });
}

export async function volumeCommand(engine: Engine, argv: string[], out: Output): Promise<number> {
  const [verb, ...rest] = argv;
  if (verb === 'prune') {
    const p = parseArgs(rest, VOLUME_PRUNE);
    needArgs(p, VOLUME_PRUNE, 0, 0);
    const { deleted, spaceReclaimed } = await engine.pruneVolumes(filterOption(p, 'volume prune'));
    for (const name of deleted) out.stdout(`${name}\n`);
    out.stdout(`Deleted ${deleted.length} volumes, ${humanSize(spaceReclaimed)} reclaimed\n`);
    return 0;
  }
  if (verb === 'create') {
    const p = parseArgs(rest, VOLUME_CREATE);
    needArgs(p, VOLUME_CREATE, 1, 1);
    out.stdout(`${engine.createVolume(p.positionals[0]!, { labels: labelOption(p) }).name}\n`);
    return 0;
  }
  const done = listVerbs(
    {
      list: () => engine.volumes(),
      inspect: (name) => engine.volume(name),
      remove: (name, force) => engine.removeVolume(name, { force }),
      headers: ['VOLUME NAME', 'CREATED', 'USED BY'],
      row: (v) => [v.name, timeAgo(v.created), v.usedBy.join(',')],
      commands: { ls: VOLUME_LS, inspect: VOLUME_INSPECT, rm: VOLUME_RM },
    },
    verb,
    rest,
    out,
  );
  if (done !== undefined) return done;
  throw new InvalidArgument(`volume: unknown command \`${verb ?? ''}\` (${subcommandNames('volume')})`, {
    code: 'USAGE',
  });
}
