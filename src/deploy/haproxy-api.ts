/**
 * HAProxy's runtime API over its admin socket: one command per connection (the non-interactive
 * mode the manual promises), a reply read until the server closes. HAProxy 2.6 replies carry no
 * status: each command's success is its exact reply text (the management guide, "Unix
 * Sockets commands"; docs/haproxy.md#commands-and-replies), anything else is the error to show.
 */
import net from 'node:net';
import { FailedPrecondition, Unavailable } from '../util/errors.js';

export interface ServerState {
  backend: string;
  name: string;
  address: string;
  port: number;
  /** srv_op_state: 0 stopped, 1 starting, 2 running, 3 stopping */
  opState: number;
  /** srv_admin_state bit mask: 0x01 forced maint, 0x08 forced drain */
  adminState: number;
  weight: number;
  /** ready, drain or maint, from adminState; `down` when running checks say so */
  status: 'ready' | 'drain' | 'maint' | 'down';
}

export interface ServerOptions {
  /** HTTP path of HAProxy's own checks (the backend's `option httpchk`) */
  check: boolean;
  weight?: number;
}

export class ProxyApi {
  constructor(
    readonly socketPath: string,
    private readonly timeoutMs = 5_000,
  ) {}

  /** Sends one command line and returns the whole reply. */
  send(command: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(this.socketPath);
      const chunks: Buffer[] = [];
      socket.setTimeout(this.timeoutMs, () =>
        socket.destroy(new Error(`no reply within ${this.timeoutMs} ms`)),
      );
      socket.on('connect', () => socket.end(`${command}\n`));
      socket.on('data', (c: Buffer) => chunks.push(c));
      socket.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      socket.on('error', (err: NodeJS.ErrnoException) =>
        reject(
          new Unavailable(`haproxy \`${this.socketPath}\`: ${err.code ?? err.message}`, {
            code: 'PROXY_UNAVAILABLE',
            cause: err,
          }),
        ),
      );
    });
  }

  /** Whether the socket answers at all. */
  async alive(): Promise<boolean> {
    try {
      await this.send('show info');
      return true;
    } catch {
      return false;
    }
  }

  /** A new server starts in maintenance (`add server` ignores `default-server`: all options here). */
  async addServer(backend: string, name: string, address: string, o: ServerOptions): Promise<void> {
    const options = o.check ? ' check inter 1s fall 2 rise 1' : '';
    await this.expect(`add server ${backend}/${name} ${address}${options} weight ${o.weight ?? 100}`, (r) =>
      r.startsWith('New server registered.'),
    );
    if (o.check) await this.action(`enable health ${backend}/${name}`);
  }

  setState(backend: string, name: string, state: 'ready' | 'drain' | 'maint'): Promise<void> {
    return this.action(`set server ${backend}/${name} state ${state}`);
  }

  async deleteServer(backend: string, name: string): Promise<void> {
    await this.expect(`del server ${backend}/${name}`, (r) => r.startsWith('Server deleted.'));
  }

  /** Drops the streams still attached (long requests never drain by themselves). */
  shutdownSessions(backend: string, name: string): Promise<void> {
    return this.action(`shutdown sessions server ${backend}/${name}`);
  }

  async servers(backend: string): Promise<ServerState[]> {
    const reply = await this.send(`show servers state ${backend}`);
    if (!reply.startsWith('1\n')) throw this.failure(`show servers state ${backend}`, reply);
    return reply
      .split('\n')
      .slice(2)
      .filter((l) => l.trim() !== '')
      .map((line) => {
        const f = line.split(' ');
        const opState = Number(f[5]);
        const adminState = Number(f[6]);
        return {
          backend: f[1]!,
          name: f[3]!,
          address: f[4]!,
          port: Number(f[18]),
          opState,
          adminState,
          weight: Number(f[7]),
          status:
            adminState & 0x01 ? 'maint' : adminState & 0x08 ? 'drain' : opState === 0 ? 'down' : 'ready',
        };
      });
  }

  /** Current sessions plus queued requests per server (`show stat`, columns by header name). */
  async load(backend: string): Promise<Map<string, number>> {
    const reply = await this.send(`show stat ${backend} 4 -1`);
    const lines = reply.split('\n').filter((l) => l !== '');
    if (!lines[0]?.startsWith('# ')) throw this.failure(`show stat ${backend}`, reply);
    const header = lines[0].slice(2).split(',');
    const col = (name: string) => header.indexOf(name);
    const [sv, scur, qcur] = [col('svname'), col('scur'), col('qcur')];
    const result = new Map<string, number>();
    for (const line of lines.slice(1)) {
      const f = line.split(',');
      result.set(f[sv]!, Number(f[scur] || 0) + Number(f[qcur] || 0));
    }
    return result;
  }

  /** Action commands succeed exactly when the reply is empty. */
  private async action(command: string): Promise<void> {
    await this.expect(command, (r) => r.trim() === '');
  }

  private async expect(command: string, ok: (reply: string) => boolean): Promise<string> {
    const reply = await this.send(command);
    if (!ok(reply)) throw this.failure(command, reply);
    return reply;
  }

  private failure(command: string, reply: string): FailedPrecondition {
    const text = reply.trim().split('\n')[0] || 'empty reply';
    return new FailedPrecondition(`haproxy \`${command}\`: ${text}`, { code: 'PROXY_REFUSED' });
  }
}
