/**
 * `GET /containers/{id}/logs`: the container's log in frames (raw with a tty), each line a
 * frame of its own stream, in the order they were written. `follow` keeps the response open
 * until the container is no longer running or the client goes away; `timestamps` puts the
 * line's RFC 3339 time in front of its text, inside the payload, as Docker does.
 */
import type { Engine } from '../engine.js';
import { InvalidArgument } from '../engine.js';
import { sendEmpty } from './respond.js';
import { bool, type Context, type Router } from './router.js';
import { frame, MULTIPLEXED_STREAM, RAW_STREAM } from './streams.js';

function tail(value: string | null): number | undefined {
  if (value === null || value === '' || value === 'all' || value === '-1') return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgument(`logs: invalid tail \`${value}\``);
  return n;
}

export function logRoutes(router: Router, engine: Engine): void {
  router.add('GET', '/containers/{id}/logs', (ctx) => logs(engine, ctx));
}

async function logs(engine: Engine, ctx: Context): Promise<void> {
  const q = ctx.query;
  const row = engine.container(ctx.params['id']!);
  const stdout = bool(q, 'stdout');
  const stderr = bool(q, 'stderr');
  const timestamps = bool(q, 'timestamps');
  const tty = row.options.tty ?? false;
  const sinceSeconds = Number(q.get('since') ?? 0) || 0;
  const res = ctx.res!;
  if (!stdout && !stderr) {
    // Docker refuses this; an empty answer is as useful and cannot break a client.
    sendEmpty(ctx, 200);
    return;
  }
  res.writeHead(200, { 'Content-Type': tty ? RAW_STREAM : MULTIPLEXED_STREAM });
  res.flushHeaders();
  const abort = new AbortController();
  res.on('close', () => abort.abort());
  try {
    for await (const line of engine.logs(row.id, {
      follow: bool(q, 'follow'),
      tail: tail(q.get('tail')),
      signal: abort.signal,
    })) {
      if (line.stream === 'stdout' ? !stdout : !stderr) continue;
      if (sinceSeconds > 0 && Date.parse(line.time) / 1000 < sinceSeconds) continue;
      const payload = Buffer.from(timestamps ? `${line.time} ${line.text}` : line.text);
      res.write(tty ? payload : frame(line.stream === 'stdout' ? 1 : 2, payload));
    }
  } catch (err) {
    if (!abort.signal.aborted) throw err;
  } finally {
    abort.abort();
  }
  res.end();
}
