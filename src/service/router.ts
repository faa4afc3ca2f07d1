/**
 * Requests to handlers: the optional `/vX.YY` prefix (1.24 up to the advertised version;
 * dockerode and testcontainers send none), `{name}` and greedy `{name*}` path parameters, the query helpers every
 * endpoint shares (Docker's booleans and filters) and the bounded JSON body.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { InvalidArgument } from '../engine.js';
import { BadJson, BodyTooLarge, MethodNotAllowed, PageNotFound } from './errors.js';

export const API_VERSION = '1.41';
export const MIN_API_VERSION = '1.24';
/** A create body from the CLI is a few KB; nothing this service takes as JSON comes near this. */
export const MAX_BODY = 1 << 20;

export interface Context {
  method: string;
  /** The path without the version prefix. */
  path: string;
  params: Record<string, string>;
  query: URLSearchParams;
  req: IncomingMessage;
  /** Absent for an `Upgrade: tcp` request: answer on `upgrade.socket`. */
  res?: ServerResponse;
  upgrade?: { socket: Duplex; head: Buffer };
}

export type Handler = (ctx: Context) => Promise<void> | void;

interface Route {
  method: string;
  parts: string[];
  handler: Handler;
}

export class Router {
  private readonly routes: Route[] = [];

  add(method: string, pattern: string, handler: Handler): this {
    this.routes.push({ method, parts: pattern.split('/').filter((p) => p !== ''), handler });
    return this;
  }

  /** The handler and parameters for a request; PageNotFound or MethodNotAllowed otherwise. */
  match(method: string, rawPath: string): { handler: Handler; params: Record<string, string>; path: string } {
    const path = stripVersion(rawPath);
    const parts = path.split('/').filter((p) => p !== '');
    let pathMatched = false;
    for (const route of this.routes) {
      const params = matchParts(route.parts, parts);
      if (!params) continue;
      pathMatched = true;
      // HEAD is answered by the GET handler where there is no HEAD route (Node drops the body).
      if (
        route.method === method ||
        (method === 'HEAD' && route.method === 'GET' && !this.has('HEAD', parts))
      )
        return { handler: route.handler, params, path };
    }
    if (pathMatched) throw new MethodNotAllowed(method, path);
    throw new PageNotFound();
  }

  private has(method: string, parts: string[]): boolean {
    return this.routes.some((r) => r.method === method && matchParts(r.parts, parts) !== undefined);
  }
}

/**
 * Matches `parts` against a pattern. `{name}` takes one part; `{name*}` takes one or more,
 * joined with "/" (image names hold slashes: `/images/127.0.0.1:5000/team/app/json`), and
 * the parts after it must match the pattern's fixed suffix. A pattern has at most one `{name*}`.
 */
export function matchParts(pattern: string[], parts: string[]): Record<string, string> | undefined {
  const greedy = pattern.findIndex((p) => p.endsWith('*}'));
  if (greedy < 0 ? pattern.length !== parts.length : parts.length < pattern.length) return undefined;
  const params: Record<string, string> = {};
  // With a greedy part, the parts after it are matched from the end.
  const taken = parts.length - pattern.length + 1;
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i]!;
    const at = greedy >= 0 && i > greedy ? i + taken - 1 : i;
    if (i === greedy) {
      params[p.slice(1, -2)] = parts
        .slice(i, i + taken)
        .map(decodeURIComponent)
        .join('/');
    } else if (p.startsWith('{')) params[p.slice(1, -1)] = decodeURIComponent(parts[at]!);
    else if (p !== parts[at]) return undefined;
  }
  return params;
}

function versionNumber(text: string): number {
  const [major, minor] = text.split('.').map(Number);
  return major! * 1000 + minor!;
}

/** `/v1.41/containers/json` → `/containers/json`; a version outside what is served is a 400. */
export function stripVersion(path: string): string {
  const m = /^\/v(\d+\.\d+)(\/.*)?$/.exec(path);
  if (!m) return path;
  const v = versionNumber(m[1]!);
  if (v > versionNumber(API_VERSION))
    throw new InvalidArgument(
      `client version ${m[1]} is too new. Maximum supported API version is ${API_VERSION}`,
    );
  if (v < versionNumber(MIN_API_VERSION))
    throw new InvalidArgument(
      `client version ${m[1]} is too old. Minimum supported API version is ${MIN_API_VERSION}, please upgrade your client to a newer version`,
    );
  return m[2] ?? '/';
}

/** Docker's query booleans: `1`, `true`, `True` (docker-py) mean true; absent is `fallback`. */
export function bool(query: URLSearchParams, name: string, fallback = false): boolean {
  const value = query.get(name);
  if (value === null || value === '') return fallback;
  return /^(1|true)$/i.test(value);
}

/** An integer query value, or undefined when absent. */
export function int(query: URLSearchParams, name: string): number | undefined {
  const value = query.get(name);
  if (value === null || value === '') return undefined;
  const n = Number(value);
  if (!Number.isInteger(n))
    throw new InvalidArgument(`invalid value \`${value}\` for ${name}: not an integer`);
  return n;
}

/**
 * `filters` in either of Docker's shapes: the map form `{"label":{"k=v":true}}` (the CLI) or
 * the list form `{"label":["k=v"]}` (docker-py, compose); both become key → values.
 */
export function filters(query: URLSearchParams): Record<string, string[]> {
  const text = query.get('filters');
  if (text === null || text === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new InvalidArgument(`invalid filters \`${text}\`: ${(err as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new InvalidArgument(`invalid filters \`${text}\`: not an object`);
  const out: Record<string, string[]> = {};
  for (const [key, value] of Object.entries(parsed as Record<string, unknown>)) {
    if (Array.isArray(value)) out[key] = value.map(String);
    else if (typeof value === 'object' && value !== null)
      out[key] = Object.entries(value as Record<string, unknown>)
        .filter(([, on]) => on === true)
        .map(([k]) => k);
    else throw new InvalidArgument(`invalid filters \`${text}\`: \`${key}\` is neither a list nor a map`);
  }
  return out;
}

/** The request's JSON body (undefined when empty), at most MAX_BODY bytes. */
export async function jsonBody(req: IncomingMessage, limit = MAX_BODY): Promise<unknown> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) throw new BodyTooLarge(limit);
  // Listeners, not `for await`: leaving that loop early destroys the request, and with it
  // the socket the 400 must go out on.
  const chunks = await new Promise<Buffer[]>((resolve, reject) => {
    const got: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      got.push(chunk);
      if (size > limit) {
        req.off('data', onData);
        req.pause();
        reject(new BodyTooLarge(limit));
      }
    };
    req.on('data', onData);
    req.once('end', () => resolve(got));
    req.once('error', reject);
  });
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new BadJson(err);
  }
}
