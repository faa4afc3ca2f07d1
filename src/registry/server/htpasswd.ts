/**
 * An Apache htpasswd file with bcrypt entries (`htpasswd -B`), as Docker's registry reads
 * it. Re-read when it changes, so users can be added without a restart. bcrypt is slow on
 * purpose (tens of ms in pure JS), so a verified pair is remembered as its SHA-256 for the
 * life of the file.
 */
import fs from 'node:fs';
import { createHash } from 'node:crypto';
import bcrypt from 'bcryptjs';
import { InvalidArgument } from '../../util/errors.js';

/** `htpasswd -B`'s own default, for a file with no entries yet. */
const DEFAULT_COST = 5;

/**
 * What an unknown user's password is checked against, so the answer takes as long as a wrong
 * password for a real user: bcrypt's time is set by the cost alone, so the decoy has the
 * cost the file's users have (the most common one; the first entry's on a tie). Only its
 * salt matters to bcrypt, so no slow hashing is needed to make it; its hash part is filler.
 */
function decoyHash(hashes: Iterable<string>): string {
  const counts = new Map<number, number>();
  for (const hash of hashes) {
    const cost = bcrypt.getRounds(hash);
    counts.set(cost, (counts.get(cost) ?? 0) + 1);
  }
  let best = DEFAULT_COST;
  let most = 0;
  // A Map iterates in insertion order, so a tie keeps the cost seen first.
  for (const [cost, n] of counts) {
    if (n > most) [best, most] = [cost, n];
  }
  const salt = bcrypt.genSaltSync(best);
  return salt + '.'.repeat(60 - salt.length);
}

export class Htpasswd {
  readonly #file: string;
  #mtime = -1;
  #users = new Map<string, string>();
  #decoy = decoyHash([]);
  #verified = new Set<string>();

  constructor(file: string) {
    this.#file = file;
    this.#load();
  }

  #load(): void {
    const st = fs.statSync(this.#file);
    if (st.mtimeMs === this.#mtime) return;
    const users = new Map<string, string>();
    fs.readFileSync(this.#file, 'utf8')
      .split('\n')
      .forEach((line, i) => {
        const trimmed = line.trim();
        if (trimmed === '' || trimmed.startsWith('#')) return;
        const colon = trimmed.indexOf(':');
        const hash = trimmed.slice(colon + 1);
        if (colon <= 0 || !/^\$2[aby]\$\d\d\$/.test(hash))
          throw new InvalidArgument(
            `read htpasswd \`${this.#file}\`: line ${i + 1}: not user:bcrypt-hash (make it with htpasswd -B)`,
          );
        users.set(trimmed.slice(0, colon), hash);
      });
    this.#users = users;
    this.#decoy = decoyHash(users.values());
    this.#verified = new Set();
    this.#mtime = st.mtimeMs;
  }

  async verify(user: string, password: string): Promise<boolean> {
    this.#load();
    const hash = this.#users.get(user);
    if (hash === undefined) {
      // As slow as a wrong password, so timing does not tell which user names exist.
      await bcrypt.compare(password, this.#decoy);
      return false;
    }
    const key = createHash('sha256').update(`${user}\0${password}\0${hash}`).digest('hex');
    if (this.#verified.has(key)) return true;
    const ok = await bcrypt.compare(password, hash);
    if (ok) this.#verified.add(key);
    return ok;
  }
}

/**
 * `Authorization: Basic base64(user:password)`, or undefined. An empty user name is no user
 * (no htpasswd line can have one): clients without credentials send `Basic Og==` (`:`) after
 * a Basic challenge, as skopeo --no-creds does, and are anonymous callers.
 */
export function basicCredentials(header: string | undefined): { user: string; password: string } | undefined {
  if (header === undefined || !/^basic /i.test(header)) return undefined;
  const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) return undefined;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}
