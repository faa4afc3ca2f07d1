/**
 * `network connect` and `network disconnect` of a container. The change is recorded in the
 * container's options (its further networks), so it holds across restarts as Docker's does;
 * a running container is also joined to (or taken off) the network at once. Under the
 * container's lock, so a start or an exit cannot attach or detach it in between.
 */
import path from 'node:path';
import type { EventJournal } from '../store/events.js';
import { lock } from '../sys/flock.js';
import { AlreadyExists, FailedPrecondition, InvalidArgument } from '../util/errors.js';
import { DEFAULT_NETWORK } from './network/index.js';
import { isAlive } from './procfs.js';
import type { ContainerRow, CreateOptions } from './records.js';
import type { Runtime } from './runtime.js';

type Further = NonNullable<CreateOptions['extraNetworks']>[number];

async function withContainer<T>(
  runtime: Runtime,
  input: string,
  fn: (row: ContainerRow, options: CreateOptions) => T,
): Promise<T> {
  const found = runtime.inspect(input);
  const held = await lock(path.join(runtime.containerDir(found.id), 'lock'), 'exclusive');
  try {
    const row = runtime.records.get(found.id);
    if (!row) throw new FailedPrecondition(`container \`${input}\` was removed meanwhile`);
    return fn(row, JSON.parse(row.spec) as CreateOptions);
  } finally {
    held.release();
  }
}

function running(row: ContainerRow): boolean {
  return row.state === 'running' && isAlive(row.pid, row.pid_start);
}

function networkEvent(
  runtime: Runtime,
  events: EventJournal,
  action: string,
  network: string,
  row: ContainerRow,
): void {
  try {
    const id = runtime.networks.inspect(network).id;
    events.record({
      type: 'network',
      action,
      id,
      attributes: { container: row.id, name: network, type: 'bridge' },
    });
  } catch {
    // The change is made; a journal that cannot take the event is no reason to fail it.
  }
}

export function connectContainer(
  runtime: Runtime,
  events: EventJournal,
  input: string,
  network: string,
  options: { aliases?: string[]; ip?: string } = {},
): Promise<void> {
  const what = `connect container \`${input}\` to network \`${network}\``;
  return withContainer(runtime, input, (row, o) => {
    const first = o.network ?? DEFAULT_NETWORK;
    if (first === 'host' || first === 'none')
      throw new FailedPrecondition(
        `${what}: the container uses the \`${first}\` network, which joins no other`,
      );
    if (network === 'host' || network === 'none' || network === DEFAULT_NETWORK)
      throw new InvalidArgument(`${what}: \`${network}\` can only be a container's first network`);
    runtime.networks.inspect(network);
    if (first === network || o.extraNetworks?.some((n) => n.name === network))
      throw new AlreadyExists(`${what}: the container is already on it`);
    const further: Further = { name: network };
    if (options.aliases?.length) further.aliases = options.aliases;
    if (options.ip) further.ip = options.ip;
    if (running(row)) runtime.networks.connect(row.id, { network, aliases: further.aliases, ip: further.ip });
    const updated: CreateOptions = { ...o, extraNetworks: [...(o.extraNetworks ?? []), further] };
    runtime.records.update(row.id, { spec: JSON.stringify(updated) });
    networkEvent(runtime, events, 'connect', network, row);
  });
}

/**
 * Takes the container off `network`. A running container keeps its first network (its
 * default route and published ports live there); a stopped one's next further network
 * becomes its first, or it is left on `none`. With `force`, a network the container is not on
 * is no error.
 */
export function disconnectContainer(
  runtime: Runtime,
  events: EventJournal,
  input: string,
  network: string,
  options: { force?: boolean } = {},
): Promise<void> {
  const what = `disconnect container \`${input}\` from network \`${network}\``;
  return withContainer(runtime, input, (row, o) => {
    const first = o.network ?? DEFAULT_NETWORK;
    const further = o.extraNetworks ?? [];
    let updated: CreateOptions;
    if (further.some((n) => n.name === network)) {
      if (running(row)) runtime.networks.disconnect(row.id, network);
      const rest = further.filter((n) => n.name !== network);
      updated = { ...o, extraNetworks: rest.length ? rest : undefined };
    } else if (first === network && network !== 'host' && network !== 'none') {
      if (running(row))
        throw new FailedPrecondition(
          `${what}: it is the container's first network, which it keeps while it runs; stop it first`,
        );
      const [next, ...rest] = further;
      updated = {
        ...o,
        network: next?.name ?? 'none',
        networkAliases: next?.aliases,
        extraNetworks: rest.length ? rest : undefined,
      };
    } else {
      if (options.force) return;
      throw new FailedPrecondition(`${what}: the container is not on it`);
    }
    runtime.records.update(row.id, { spec: JSON.stringify(updated) });
    networkEvent(runtime, events, 'disconnect', network, row);
  });
}
