/**
 * PAX extended header records (POSIX.1-2017 `pax`, "pax Extended Header"): `"%d %s=%s\n"`,
 * where the length counts every byte of the record including its own digits. Values are
 * bytes: `SCHILY.xattr.*` values are raw binary, everything else is UTF-8 text.
 */

/** Keyword and raw value bytes. */
export type PaxRecord = readonly [keyword: string, value: Buffer];

export function encodePaxRecords(records: readonly PaxRecord[]): Buffer {
  const parts: Buffer[] = [];
  for (const [keyword, value] of records) {
    const body = Buffer.byteLength(keyword, 'utf8') + value.length + 3; // ' ', '=', '\n'
    let length = body + String(body).length;
    if (String(length).length !== String(body).length) length = body + String(length).length;
    parts.push(Buffer.from(`${length} ${keyword}=`, 'utf8'), value, NEWLINE);
  }
  return Buffer.concat(parts);
}

const NEWLINE = Buffer.from('\n');

/**
 * Parses the data of an 'x' or 'g' header. Returns an error description (the caller adds
 * which header and where) instead of throwing, so it stays free of message conventions.
 */
export function parsePaxRecords(data: Buffer): Map<string, Buffer> | string {
  const records = new Map<string, Buffer>();
  let pos = 0;
  while (pos < data.length) {
    // Some writers pad the data with NULs; nothing may follow the padding.
    if (data[pos] === 0) {
      for (let i = pos; i < data.length; i++) {
        if (data[i] !== 0) return `malformed PAX record at offset ${pos}: data after NUL padding`;
      }
      break;
    }
    const space = data.indexOf(0x20, pos);
    const digits = data.toString('latin1', pos, space === -1 ? Math.min(data.length, pos + 20) : space);
    if (space === -1 || !/^[1-9][0-9]{0,15}$/.test(digits)) {
      return `malformed PAX record at offset ${pos}: bad length ${JSON.stringify(digits)}`;
    }
    const end = pos + Number(digits);
    if (end > data.length) {
      return `malformed PAX record at offset ${pos}: length ${digits} runs past the end (${data.length} bytes)`;
    }
    if (data[end - 1] !== 0x0a) return `malformed PAX record at offset ${pos}: no newline at its end`;
    const equals = data.indexOf(0x3d, space + 1);
    if (equals === -1 || equals >= end - 1 || equals === space + 1) {
      return `malformed PAX record at offset ${pos}: no \`keyword=\``;
    }
    records.set(data.toString('utf8', space + 1, equals), data.subarray(equals + 1, end - 1));
    pos = end;
  }
  return records;
}
