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

const UNKNOWN_USER_HASH = bcrypt.hashSync('no such user', 5);

export class Htpasswd {
  readonly #file: string;
  #mtime = -1;
  #users = new Map<string, string>();
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
    this.#verified = new Set();
    this.#mtime = st.mtimeMs;
  }

  async verify(user: string, password: string): Promise<boolean> {
    this.#load();
    const hash = this.#users.get(user);
    if (hash === undefined) {
      // As slow as a wrong password, so timing does not tell which user names exist.
      await bcrypt.compare(password, UNKNOWN_USER_HASH);
      return false;
    }
    const key = createHash('sha256').update(`${user}\0${password}\0${hash}`).digest('hex');
    if (this.#verified.has(key)) return true;
    const ok = await bcrypt.compare(password, hash);
    if (ok) this.#verified.add(key);
    return ok;
  }
}

/** `Authorization: Basic base64(user:password)`, or undefined. */
export function basicCredentials(header: string | undefined): { user: string; password: string } | undefined {
  if (header === undefined || !/^basic /i.test(header)) return undefined;
  const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}
