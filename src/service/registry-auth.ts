/**
 * Registry credentials as API clients send them, and `POST /auth` (`docker login`).
 *
 * A client keeps its own credentials (the docker CLI in its config.json) and sends them with
 * each request that needs them: `X-Registry-Auth` on pull and push is base64url JSON
 * `{username, password, serveraddress}` (or `{identitytoken}`, or `e30=`, `{}`, for none);
 * `X-Registry-Config` on build is a map of registry to such objects (`{"auths": {…}}` from
 * docker-py). Both alphabets of base64 are taken. As dockerd does, the service then uses
 * exactly these: with none it asks anonymously, never with credentials stored on the host.
 *
 * `/auth` checks the credentials against the registry (its /v2/ answers them) and stores
 * nothing: the CLI stores them itself once it gets the 200.
 */
import type { IncomingMessage } from 'node:http';
import { InvalidArgument, type Credentials, type Engine } from '../engine.js';
import { DOCKER_HUB, parseReference } from '../oci/reference.js';
import { sendJson } from './respond.js';
import { jsonBody, type Context, type Router } from './router.js';

interface AuthConfig {
  username?: unknown;
  password?: unknown;
  auth?: unknown;
  identitytoken?: unknown;
  serveraddress?: unknown;
}

function decodeHeader(name: string, value: string): unknown {
  const text = Buffer.from(value.trim(), 'base64url').toString('utf8').trim();
  if (text === '') return {};
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new InvalidArgument(`${name}: not base64 of JSON: ${(err as Error).message}`);
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The credentials of one auth object, or undefined when it carries none. An identity token
 * is sent as the password of the user `<token>`, as Docker's credential helpers store one.
 */
function credentialsOf(config: AuthConfig, what: string): Credentials | undefined {
  const text = (v: unknown) => (typeof v === 'string' ? v : '');
  if (text(config.identitytoken) !== '')
    return { username: text(config.username) || '<token>', password: text(config.identitytoken) };
  if (text(config.username) !== '' || text(config.password) !== '')
    return { username: text(config.username), password: text(config.password) };
  if (text(config.auth) !== '') {
    const decoded = Buffer.from(text(config.auth), 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) throw new InvalidArgument(`${what}: \`auth\` is not base64 of user:password`);
    return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  }
  return undefined;
}

/**
 * The credentials `X-Registry-Auth` gives for the registry of `reference`, as the map the
 * engine takes: empty (anonymous) when the header carries none.
 */
export function pullPushCredentials(req: IncomingMessage, reference: string): Record<string, Credentials> {
  const header = req.headers['x-registry-auth'];
  if (typeof header !== 'string' || header.trim() === '') return {};
  const config = decodeHeader('X-Registry-Auth', header);
  if (!isObject(config)) throw new InvalidArgument('X-Registry-Auth: not a JSON object');
  const credentials = credentialsOf(config, 'X-Registry-Auth');
  return credentials ? { [parseReference(reference).registry]: credentials } : {};
}

/** The credentials `X-Registry-Config` gives, by registry, for the images a build pulls. */
export function buildCredentials(req: IncomingMessage): Record<string, Credentials> {
  const header = req.headers['x-registry-config'];
  if (typeof header !== 'string' || header.trim() === '') return {};
  let config = decodeHeader('X-Registry-Config', header);
  if (isObject(config) && isObject(config['auths'])) config = config['auths'];
  if (!isObject(config)) throw new InvalidArgument('X-Registry-Config: not a JSON object');
  const out: Record<string, Credentials> = {};
  for (const [registry, entry] of Object.entries(config)) {
    if (!isObject(entry)) continue;
    const credentials = credentialsOf(entry, `X-Registry-Config \`${registry}\``);
    // Keys may be URLs (Docker Hub's is its v1 index URL): the engine normalises them.
    if (credentials && registry !== '') out[registry] = credentials;
  }
  return out;
}

async function login(ctx: Context, engine: Engine): Promise<void> {
  const body = await jsonBody(ctx.req);
  if (!isObject(body)) throw new InvalidArgument('login: the body must be a JSON object');
  const credentials = credentialsOf(body, 'login');
  if (!credentials || credentials.username === '' || credentials.password === '')
    throw new InvalidArgument('login: a username and a password are required');
  const server =
    typeof body['serveraddress'] === 'string' && body['serveraddress'] !== ''
      ? body['serveraddress']
      : DOCKER_HUB;
  await engine.checkLogin(server, credentials);
  sendJson(ctx, 200, { Status: 'Login Succeeded', IdentityToken: '' });
}

export function registryAuthRoutes(router: Router, engine: Engine): void {
  router.add('POST', '/auth', (ctx) => login(ctx, engine));
}
