/** Images (list), networks and volumes: list, inspect, create, remove, in Docker's shapes. */
import { randomBytes } from 'node:crypto';
import type { Engine, NetworkInfo, VolumeInfo } from '../engine.js';
import { InvalidArgument, NotFound } from '../engine.js';
import { imageSummaryShape } from './container-shapes.js';
import { sendEmpty, sendJson } from './respond.js';
import { bool, filters, jsonBody, type Router } from './router.js';
import { hasLabel } from '../util/prune-filters.js';

function networkShape(n: NetworkInfo): Record<string, unknown> {
  return {
    Name: n.name,
    Id: n.id,
    Created: n.created,
    Scope: 'local',
    Driver: n.driver,
    EnableIPv6: false,
    IPAM: { Driver: 'default', Options: null, Config: [{ Subnet: n.subnet, Gateway: n.gateway }] },
    Internal: false,
    Attachable: false,
    Ingress: false,
    ConfigFrom: { Network: '' },
    ConfigOnly: false,
    Containers: Object.fromEntries(
      n.containers.map((c) => [
        c.id,
        { Name: c.name, EndpointID: '', MacAddress: c.mac, IPv4Address: c.ip, IPv6Address: '' },
      ]),
    ),
    // Only the default network shows its bridge: compose compares a user network's Options
    // with the file's driver_opts and recreates the network on any difference.
    Options: n.name === 'bridge' ? { 'com.docker.network.bridge.name': n.bridge } : {},
    Labels: n.labels,
  };
}

function volumeShape(v: VolumeInfo): Record<string, unknown> {
  return {
    Name: v.name,
    Driver: 'local',
    Mountpoint: v.mountpoint,
    CreatedAt: v.created,
    Labels: v.labels,
    Scope: 'local',
    Options: {},
  };
}

/**
 * Docker's network filters: `name` (a part of the name), `id` (a prefix), `driver`, `type`
 * (`builtin` is the default network), `label` (`key` or `key=value`; all must match). Each
 * other key must match one of its values.
 */
function networkMatches(n: NetworkInfo, wanted: Record<string, string[]>): boolean {
  return Object.entries(wanted).every(([key, values]) => {
    if (values.length === 0) return true;
    if (key === 'name') return values.some((v) => n.name.includes(v));
    if (key === 'id') return values.some((v) => n.id.startsWith(v));
    if (key === 'driver') return values.includes(n.driver);
    if (key === 'type') return values.includes(n.name === 'bridge' ? 'builtin' : 'custom');
    if (key === 'label') return values.every((v) => hasLabel(n.labels, v));
    throw new InvalidArgument(`list networks: invalid filter \`${key}\``);
  });
}

/** Docker's volume filters: `name` (a part), `driver`, `dangling` (used by no container), `label` (all must match). */
function volumeMatches(v: VolumeInfo, wanted: Record<string, string[]>): boolean {
  return Object.entries(wanted).every(([key, values]) => {
    if (values.length === 0) return true;
    if (key === 'name') return values.some((x) => v.name.includes(x));
    if (key === 'driver') return values.includes('local');
    if (key === 'dangling') return values.some((x) => /^(1|true)$/i.test(x) === (v.usedBy.length === 0));
    if (key === 'label') return values.every((x) => hasLabel(v.labels, x));
    throw new InvalidArgument(`list volumes: invalid filter \`${key}\``);
  });
}

/** A `Labels` object of a create body: strings to strings, or nothing. */
function stringMap(value: unknown, what: string): Record<string, string> | undefined {
  if (value === undefined || value === null) return undefined;
  if (
    typeof value !== 'object' ||
    Array.isArray(value) ||
    Object.values(value).some((v) => typeof v !== 'string')
  )
    throw new InvalidArgument(`${what} must be an object of strings`);
  return value as Record<string, string>;
}

/** A network by name, ID or unique ID prefix, as Docker finds them. */
export function findNetwork(engine: Engine, input: string): NetworkInfo {
  const all = engine.networks();
  const found = all.find((n) => n.name === input) ?? all.find((n) => n.id === input);
  if (found) return found;
  const prefixed = all.filter((n) => n.id.startsWith(input));
  if (prefixed.length === 1) return prefixed[0]!;
  throw new NotFound(`network ${input} not found`, { code: 'NETWORK_NOT_FOUND' });
}

export function resourceRoutes(router: Router, engine: Engine): void {
  router
    .add('GET', '/images/json', (ctx) =>
      sendJson(
        ctx,
        200,
        engine.images().map((i) =>
          imageSummaryShape(i, {
            sharedSize: bool(ctx.query, 'shared-size') ? i.shared : -1,
            containers: -1,
          }),
        ),
      ),
    )
    .add('GET', '/networks', (ctx) => {
      const wanted = filters(ctx.query);
      sendJson(
        ctx,
        200,
        engine
          .networks()
          .filter((n) => networkMatches(n, wanted))
          .map(networkShape),
      );
    })
    .add('GET', '/networks/{id}', (ctx) =>
      sendJson(ctx, 200, networkShape(findNetwork(engine, ctx.params['id']!))),
    )
    .add('POST', '/networks/create', async (ctx) => {
      const body = ((await jsonBody(ctx.req)) ?? {}) as {
        Name?: string;
        Driver?: string;
        IPAM?: { Config?: { Subnet?: string }[] };
        Labels?: Record<string, string>;
      };
      if (!body.Name) throw new InvalidArgument('create network: Name is required');
      if (body.Driver && body.Driver !== 'bridge')
        throw new InvalidArgument(
          `create network ${body.Name}: driver \`${body.Driver}\` is not supported (bridge)`,
        );
      const n = engine.createNetwork(body.Name, {
        subnet: body.IPAM?.Config?.[0]?.Subnet || undefined,
        labels: stringMap(body.Labels, 'Labels'),
      });
      sendJson(ctx, 201, { Id: n.id, Warning: '' });
    })
    .add('DELETE', '/networks/{id}', (ctx) => {
      engine.removeNetwork(findNetwork(engine, ctx.params['id']!).name);
      sendEmpty(ctx, 204);
    })
    .add('GET', '/volumes', (ctx) => {
      const wanted = filters(ctx.query);
      const volumes = engine.volumes().filter((v) => volumeMatches(v, wanted));
      sendJson(ctx, 200, { Volumes: volumes.map(volumeShape), Warnings: [] });
    })
    .add('GET', '/volumes/{name}', (ctx) =>
      sendJson(ctx, 200, volumeShape(engine.volume(ctx.params['name']!))),
    )
    .add('POST', '/volumes/create', async (ctx) => {
      const body = ((await jsonBody(ctx.req)) ?? {}) as {
        Name?: string;
        Driver?: string;
        Labels?: Record<string, string>;
      };
      if (body.Driver && body.Driver !== 'local')
        throw new InvalidArgument(`create volume: driver \`${body.Driver}\` is not supported (local)`);
      // Docker names an unnamed volume with 64 hex digits.
      const name = body.Name || randomBytes(32).toString('hex');
      sendJson(
        ctx,
        201,
        volumeShape(engine.createVolume(name, { labels: stringMap(body.Labels, 'Labels') })),
      );
    })
    .add('DELETE', '/volumes/{name}', (ctx) => {
      engine.removeVolume(ctx.params['name']!, { force: bool(ctx.query, 'force') });
      sendEmpty(ctx, 204);
    });
}
