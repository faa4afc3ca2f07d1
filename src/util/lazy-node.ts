/**
 * Node's HTTP and TLS modules, loaded on first use: importing them costs every command
 * ~10 ms at start-up (https pulls in tls), and most commands never speak HTTP. The bundle would
 * hoist a static `import` of them to its top, so callers take them from here instead.
 */
import { createRequire } from 'node:module';
import type * as Http from 'node:http';
import type * as Https from 'node:https';
import type * as Tls from 'node:tls';

const require = createRequire(import.meta.url);

export const nodeHttp = (): typeof Http => require('node:http') as typeof Http;
export const nodeHttps = (): typeof Https => require('node:https') as typeof Https;
export const nodeTls = (): typeof Tls => require('node:tls') as typeof Tls;
