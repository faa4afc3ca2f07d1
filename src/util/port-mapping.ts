/**
 * A published port as skiff's `--port` and project files write it, `[IP:]PUBLIC[:CONTAINER]`,
 * which also reads compose's `PUBLIC:CONTAINER` and `IP:PUBLIC:CONTAINER` (with `/tcp`).
 */

export interface PortMapping {
  /** the address to listen on; 0.0.0.0 when none is given */
  bind: string;
  public: number;
  /** the port inside the container; the public one when none is given */
  container: number;
}

/** The mapping `text` writes; `bad()` is thrown when it is none (each caller words its own). */
export function parsePortMapping(text: string, bad: () => Error): PortMapping {
  const m = /^(?:(\d{1,3}(?:\.\d{1,3}){3}):)?(\d+)(?::(\d+))?(?:\/tcp)?$/.exec(text);
  const valid = (n: number) => Number.isInteger(n) && n >= 1 && n <= 65535;
  if (m) {
    const pub = Number(m[2]);
    const container = m[3] === undefined ? pub : Number(m[3]);
    if (valid(pub) && valid(container)) return { bind: m[1] ?? '0.0.0.0', public: pub, container };
  }
  throw bad();
}
