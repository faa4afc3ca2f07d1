/**
 * The `networks` and `endpoints` tables (schema migration 2). An endpoint row exists from the
 * first step of an attach to the last step of its detach: it reserves the address, and it is
 * how a detach after a crash finds which network's hosts files to rewrite.
 */
import type { Database } from 'better-sqlite3';

export interface NetworkRow {
  name: string;
  id: string;
  driver: string;
  bridge: string;
  subnet: string;
  gateway: string;
  created: string;
  /** JSON object (migration 12; '{}' for older rows). */
  labels?: string;
}

export interface EndpointRow {
  container_id: string;
  network: string;
  ip: string;
  mac: string;
  aliases: string;
  /** containers.name */
  name: string;
}

export class NetworkStore {
  constructor(readonly db: Database) {}

  get(name: string): NetworkRow | undefined {
    return this.db.prepare('SELECT * FROM networks WHERE name = ?').get(name) as NetworkRow | undefined;
  }

  all(): NetworkRow[] {
    return this.db.prepare('SELECT * FROM networks ORDER BY created, name').all() as NetworkRow[];
  }

  insert(row: NetworkRow): void {
    this.db
      .prepare(
        'INSERT INTO networks (name, id, driver, bridge, subnet, gateway, created, labels) VALUES (@name, @id, @driver, @bridge, @subnet, @gateway, @created, @labels)',
      )
      .run({ labels: '{}', ...row });
  }

  delete(name: string): void {
    this.db.prepare('DELETE FROM networks WHERE name = ?').run(name);
  }

  endpointsOn(network: string): EndpointRow[] {
    return this.db
      .prepare(
        `SELECT e.container_id, e.network, e.ip, e.mac, e.aliases, c.name
         FROM endpoints e JOIN containers c ON c.id = e.container_id
         WHERE e.network = ? ORDER BY e.ip`,
      )
      .all(network) as EndpointRow[];
  }

  endpointsOf(containerId: string): EndpointRow[] {
    return this.db
      .prepare(
        `SELECT e.container_id, e.network, e.ip, e.mac, e.aliases, c.name
         FROM endpoints e JOIN containers c ON c.id = e.container_id
         WHERE e.container_id = ?`,
      )
      .all(containerId) as EndpointRow[];
  }

  /** Every endpoint row of a container, even if the container row is gone (no join). */
  networksOf(containerId: string): string[] {
    return (
      this.db.prepare('SELECT network FROM endpoints WHERE container_id = ?').all(containerId) as {
        network: string;
      }[]
    ).map((r) => r.network);
  }

  usedIps(network: string): string[] {
    return (
      this.db.prepare('SELECT ip FROM endpoints WHERE network = ?').all(network) as { ip: string }[]
    ).map((r) => r.ip);
  }

  insertEndpoint(e: Omit<EndpointRow, 'name'>): void {
    this.db
      .prepare(
        'INSERT INTO endpoints (container_id, network, ip, mac, aliases) VALUES (@container_id, @network, @ip, @mac, @aliases)',
      )
      .run(e);
  }

  /** The container's endpoint on one network (a disconnect). */
  deleteEndpoint(containerId: string, network: string): void {
    this.db.prepare('DELETE FROM endpoints WHERE container_id = ? AND network = ?').run(containerId, network);
  }

  deleteEndpoints(containerId: string): void {
    this.db.prepare('DELETE FROM endpoints WHERE container_id = ?').run(containerId);
  }

  /** Runs `fn` in a write transaction taken up front (BEGIN IMMEDIATE): skiff processes queue here. */
  write<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }
}
