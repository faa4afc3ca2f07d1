/**
 * Pieces the deploy tests and benchmark share: app images (busybox httpd serving a version
 * string and a health path) and a steady HTTP load on loopback that records every request.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { busyboxTree, type Sandbox } from './helpers.js';

/**
 * Imports `name` as busybox + /www/index.html = `body` (+ /www/up unless `healthy: false`),
 * serving on 8080. The shell as PID 1 ends on SIGTERM, so a stop takes no 10 s grace period.
 */
export async function appImage(
  s: Sandbox,
  name: string,
  body: string,
  o: { healthy?: boolean; port?: number } = {},
): Promise<void> {
  const extra = fs.mkdtempSync(path.join(s.dir, 'app-'));
  fs.mkdirSync(path.join(extra, 'www'));
  fs.writeFileSync(path.join(extra, 'www', 'index.html'), body);
  if (o.healthy !== false) fs.writeFileSync(path.join(extra, 'www', 'up'), 'ok\n');
  const tar = `${extra}.tar`;
  const r = spawnSync('tar', ['--numeric-owner', '-cf', tar, '-C', busyboxTree(), '.', '-C', extra, './www']);
  if (r.status !== 0) throw new Error(`tar: ${r.stderr}`);
  const cmd = JSON.stringify([
    'sh',
    '-c',
    `trap 'exit 0' TERM; httpd -f -p ${o.port ?? 8080} -h /www & wait`,
  ]);
  await s.ok(['import', tar, name, '-c', `CMD ${cmd}`]);
  fs.rmSync(extra, { recursive: true, force: true });
  fs.rmSync(tar, { force: true });
}

export interface Sample {
  start: number;
  end: number;
  body?: string;
  error?: string;
}

export interface Load {
  samples: Sample[];
  stop(): Promise<Sample[]>;
}

/** `loops` keep-alive clients, each sending its next request as soon as the last one answered. */
export function steadyLoad(url: string, loops = 2): Load {
  const agent = new http.Agent({ keepAlive: true, maxSockets: loops });
  const samples: Sample[] = [];
  let stopped = false;
  const loop = async () => {
    while (!stopped) {
      const start = performance.now();
      try {
        const body = await get(url, agent);
        samples.push({ start, end: performance.now(), body });
      } catch (err) {
        samples.push({ start, end: performance.now(), error: (err as Error).message });
      }
    }
  };
  const running = Array.from({ length: loops }, loop);
  return {
    samples,
    async stop() {
      stopped = true;
      await Promise.all(running);
      agent.destroy();
      return samples;
    },
  };
}

export function get(url: string, agent?: http.Agent): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent, timeout: 5_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        if (res.statusCode === 200) resolve(body);
        else reject(new Error(`HTTP ${res.statusCode}: ${body.slice(0, 80)}`));
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
  });
}
