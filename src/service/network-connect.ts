/**
 * `POST /networks/{id}/connect` `{Container, EndpointConfig:{Aliases, IPAMConfig:{IPv4Address}}}`
 * and `POST /networks/{id}/disconnect` `{Container, Force}`, both 200 with no body. Compose
 * calls them for a service on several networks, and disconnect-then-connect when a
 * container's aliases lack its short ID.
 */
import { InvalidArgument, type Engine } from '../engine.js';
import { findNetwork } from './resources.js';
import { jsonBody, type Context, type Router } from './router.js';

interface ConnectBody {
  Container?: unknown;
  Force?: unknown;
  EndpointConfig?: { Aliases?: unknown; IPAMConfig?: { IPv4Address?: unknown } | null } | null;
}

async function body(ctx: Context, verb: string): Promise<{ container: string; parsed: ConnectBody }> {
  const parsed = ((await jsonBody(ctx.req)) ?? {}) as ConnectBody;
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new InvalidArgument(`${verb}: the body must be a JSON object`);
  if (typeof parsed.Container !== 'string' || parsed.Container === '')
    throw new InvalidArgument(`${verb}: Container is required`);
  return { container: parsed.Container, parsed };
}

function ok(ctx: Context): void {
  ctx.res!.writeHead(200, { 'Content-Length': 0 });
  ctx.res!.end();
}

export function networkConnectRoutes(router: Router, engine: Engine): void {
  router
    .add('POST', '/networks/{id}/connect', async (ctx) => {
      const network = findNetwork(engine, ctx.params['id']!).name;
      const { container, parsed } = await body(ctx, `connect to network ${network}`);
      const endpoint = parsed.EndpointConfig ?? {};
      const aliases = endpoint.Aliases ?? [];
      if (!Array.isArray(aliases) || aliases.some((a) => typeof a !== 'string'))
        throw new InvalidArgument(`connect to network ${network}: Aliases must be a list of strings`);
      const ip = endpoint.IPAMConfig?.IPv4Address;
      if (ip !== undefined && ip !== null && typeof ip !== 'string')
        throw new InvalidArgument(`connect to network ${network}: IPv4Address must be a string`);
      await engine.connectNetwork(network, container, {
        aliases: aliases as string[],
        ip: ip || undefined,
      });
      ok(ctx);
    })
    .add('POST', '/networks/{id}/disconnect', async (ctx) => {
      const network = findNetwork(engine, ctx.params['id']!).name;
      const { container, parsed } = await body(ctx, `disconnect from network ${network}`);
      await engine.disconnectNetwork(network, container, { force: parsed.Force === true });
      ok(ctx);
    });
}
