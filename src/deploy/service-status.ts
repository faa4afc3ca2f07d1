/**
 * `skiff services`: each service's live release and the health of its replicas — for a service
 * behind the proxy, as HAProxy itself sees its servers (`show servers state`), so the two
 * never disagree; otherwise from the containers' state.
 */
import type { Runtime } from '../runtime/runtime.js';
import type { ServerState } from './haproxy-api.js';
import { backendOf, type Proxy } from './proxy.js';
import type { Release, Releases } from './releases.js';

export interface ServiceStatus {
  name: string;
  release: number | null;
  image: string;
  replicas: number;
  /** replicas taking traffic (proxy: ready and up; otherwise running) */
  ready: number;
  port: string | null;
  updated: string | null;
  servers: {
    name: string;
    address: string;
    state: ServerState['status'] | 'running' | 'exited' | 'created';
  }[];
  /** set when the proxy could not be asked */
  proxyError?: string;
  /** the release switched away from, still running and drained, until when (deployer.ts) */
  warm?: { release: number; until: string; servers: ServiceStatus['servers'] };
}

export async function serviceStatus(
  releases: Releases,
  runtime: Runtime,
  proxy: Proxy,
): Promise<ServiceStatus[]> {
  const result: ServiceStatus[] = [];
  for (const s of releases.services()) {
    const live = releases.live(s.name);
    const status: ServiceStatus = {
      name: s.name,
      release: live?.number ?? null,
      image: live?.imageName ?? '-',
      replicas: live?.spec.replicas ?? 0,
      ready: 0,
      port: live?.spec.port
        ? `${live.spec.port.bind}:${live.spec.port.public}->${live.spec.port.container}`
        : null,
      updated: live?.created ?? null,
      servers: [],
    };
    if (live?.spec.port) {
      try {
        const all = await proxy.api.servers(backendOf(s.name));
        // The backend also holds a warm release's drained servers: each listed with its release.
        const of = (r: Release) => {
          const names = new Set(r.containers.flatMap((id) => runtime.records.get(id)?.name ?? []));
          return all
            .filter((v) => names.has(v.name))
            .map((v) => ({ name: v.name, address: `${v.address}:${v.port}`, state: v.status }));
        };
        status.servers = of(live);
        status.ready = status.servers.filter((v) => v.state === 'ready').length;
        const warm = releases.history(s.name).find((r) => r.status === 'warm' && r.warmUntil);
        if (warm) status.warm = { release: warm.number, until: warm.warmUntil!, servers: of(warm) };
      } catch (err) {
        status.proxyError = (err as Error).message;
      }
    } else if (live) {
      status.servers = live.containers.flatMap((id) => {
        const row = runtime.records.get(id);
        if (!row) return [];
        const state = runtime.refresh(row).state;
        return [{ name: row.name, address: runtime.address(id) ?? '-', state }];
      });
      status.ready = status.servers.filter((v) => v.state === 'running').length;
    }
    result.push(status);
  }
  return result;
}
