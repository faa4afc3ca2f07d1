/**
 * HTTP for the registry client: node:http/node:https with keep-alive agents (a pull or push
 * makes dozens of requests to one host; a new connection each, TLS included, would cost more
 * than the small ones carry). node:http rather than fetch: 557 vs 340 MB/s on loopback
 * (docs/compression.md#loopback-http).
 *
 * TLS verification is on unless the caller turns it off. Extra CA certificates come from
 * SKIFF_EXTRA_CA_CERTS (bin/skiff moves NODE_EXTRA_CA_CERTS there so that commands which never
 * talk TLS do not pay for parsing them) and from Docker's /etc/docker/certs.d/<host:port>/ca.crt;
 * both are read only when a TLS connection is first made.
 */
import { nodeHttp, nodeHttps, nodeTls } from '../../util/lazy-node.js';
import fs from 'node:fs';
import type http from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type https from 'node:https';
import path from 'node:path';
import { Readable } from 'node:stream';
import { errnoCode, InvalidArgument } from '../../util/errors.js';

/** A request body: bytes, or a factory so that a retried request can send it again. */
export type Body = Buffer | (() => AsyncIterable<Buffer>);

/** Milliseconds without a byte either way before a connection is given up. */
const IDLE_TIMEOUT = 60_000;

export interface RequestOptions {
  method?: string;
  /** Idle timeout in ms; default 60 s. */
  timeout?: number;
  headers?: Record<string, string>;
  body?: Body;
  signal?: AbortSignal;
}

export interface Response {
  status: number;
  headers: IncomingHttpHeaders;
  /** The body stream; read it whole (`readBody`) or `discard` it so the socket is reused. */
  body: IncomingMessage;
  url: URL;
}

export interface TransportOptions {
  /** Skip certificate verification (`--tls-verify=false`). */
  insecure?: boolean;
  /** Where Docker keeps per-registry CA files; default /etc/docker/certs.d. */
  certsDir?: string;
}

/** Connection-level failures worth another try: the peer went away, not "nobody listens". */
const TRANSIENT = new Set([
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ECONNABORTED',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
]);

export function isTransientError(err: unknown): boolean {
  const code = errnoCode(err);
  return (
    (code !== undefined && TRANSIENT.has(code)) ||
    (err instanceof Error && /socket hang up|aborted|premature close/i.test(err.message))
  );
}

export class Transport {
  private httpAgentInstance: http.Agent | undefined;
  private readonly httpsAgents = new Map<string, https.Agent>();
  private baseCa: string[] | undefined;

  constructor(private readonly options: TransportOptions = {}) {}

  get insecure(): boolean {
    return this.options.insecure === true;
  }

  request(url: URL, options: RequestOptions = {}): Promise<Response> {
    const secure = url.protocol === 'https:';
    const body = options.body;
    const headers: Record<string, string> = { 'User-Agent': 'skiff/0.1', ...options.headers };
    if (Buffer.isBuffer(body)) headers['Content-Length'] = String(body.length);
    return new Promise<Response>((resolve, reject) => {
      const req = (secure ? nodeHttps() : nodeHttp()).request(url, {
        method: options.method ?? 'GET',
        headers,
        agent: secure ? this.httpsAgent(url.host) : this.httpAgent(),
        signal: options.signal,
      });
      // `on`, not `once`: a failing body stream may destroy the request after it has failed.
      req.on('error', reject);
      // A connection silent this long is dead; the error is transient, so the caller may retry.
      req.setTimeout(options.timeout ?? IDLE_TIMEOUT, () =>
        req.destroy(
          Object.assign(
            new Error(`no data from ${url.host} for ${(options.timeout ?? IDLE_TIMEOUT) / 1000} s`),
            { code: 'ETIMEDOUT' },
          ),
        ),
      );
      req.once('response', (res) =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: res, url }),
      );
      if (body === undefined) req.end();
      else if (Buffer.isBuffer(body)) req.end(body);
      else {
        const source = Readable.from(body(), { objectMode: false });
        source.once('error', (err) => req.destroy(err));
        source.pipe(req);
      }
    });
  }

  close(): void {
    this.httpAgentInstance?.destroy();
    for (const agent of this.httpsAgents.values()) agent.destroy();
  }

  private httpAgent(): http.Agent {
    this.httpAgentInstance ??= new (nodeHttp().Agent)({ keepAlive: true, maxSockets: 16 });
    return this.httpAgentInstance;
  }

  /** One agent per host, since a host may have its own CA file in certs.d. */
  private httpsAgent(host: string): https.Agent {
    let agent = this.httpsAgents.get(host);
    if (agent === undefined) {
      agent = new (nodeHttps().Agent)({
        keepAlive: true,
        maxSockets: 16,
        rejectUnauthorized: !this.insecure,
        ca: [...this.defaultCa(), ...hostCa(this.options.certsDir ?? '/etc/docker/certs.d', host)],
      });
      this.httpsAgents.set(host, agent);
    }
    return agent;
  }

  private defaultCa(): string[] {
    if (this.baseCa === undefined) {
      this.baseCa = [...nodeTls().rootCertificates];
      const extra = process.env['SKIFF_EXTRA_CA_CERTS'] ?? process.env['NODE_EXTRA_CA_CERTS'];
      if (extra) {
        try {
          this.baseCa.push(fs.readFileSync(extra, 'utf8'));
        } catch {
          // Node itself only warns about an unreadable NODE_EXTRA_CA_CERTS; so do we, silently.
        }
      }
    }
    return this.baseCa;
  }
}

/** Docker's per-registry trust: /etc/docker/certs.d/<host:port>/*.crt. */
function hostCa(certsDir: string, host: string): string[] {
  const dir = path.join(certsDir, host);
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  return names.filter((n) => n.endsWith('.crt')).map((n) => fs.readFileSync(path.join(dir, n), 'utf8'));
}

/** Reads a small body whole; more than `limit` bytes is refused. */
export async function readBody(res: Response, limit = 8 << 20): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res.body) {
    size += (chunk as Buffer).length;
    if (size > limit) {
      res.body.destroy();
      throw new InvalidArgument(
        `read response from ${res.url.host}: over ${limit} bytes, the most expected`,
        {
          code: 'RESPONSE_TOO_LARGE',
        },
      );
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** Drains an unwanted body so its keep-alive socket goes back to the pool. */
export async function discard(res: Response): Promise<void> {
  try {
    for await (const _ of res.body) void _;
  } catch {
    // The connection is dropped then; nothing was wanted from it.
  }
}

export function header(res: Response, name: string): string | undefined {
  const value = res.headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}

/** 127.0.0.0/8, ::1 and localhost: where Docker allows plain HTTP without being told. */
export function isLoopback(host: string): boolean {
  const name = host.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
  return name === 'localhost' || name === '::1' || /^127\.\d+\.\d+\.\d+$/.test(name);
}
