/**
 * Real text for compressible benchmark inputs: small text files under /usr, concatenated in
 * a fixed order until `want` bytes; repeated when the machine has too little (gzip's 32 KiB
 * window sees no repeat).
 */
import fs from 'node:fs';
import path from 'node:path';

export function textCorpus(want: number): Buffer {
  const parts: Buffer[] = [];
  let have = 0;
  const visit = (dir: string): void => {
    let names: string[];
    try {
      names = fs.readdirSync(dir).sort();
    } catch {
      return;
    }
    for (const name of names) {
      if (have >= want) return;
      const abs = path.join(dir, name);
      const st = fs.lstatSync(abs);
      if (st.isDirectory()) visit(abs);
      else if (
        st.isFile() &&
        st.size > 0 &&
        st.size < 1 << 20 &&
        !/\.(gz|xz|bz2|zst|png|jpg|gif|ico|mo|so)$/.test(name)
      ) {
        const data = fs.readFileSync(abs);
        if (data.subarray(0, 4096).includes(0)) continue; // binary
        parts.push(data);
        have += data.length;
      }
    }
  };
  for (const root of [
    '/usr/include',
    '/usr/share/doc',
    '/usr/share/common-licenses',
    '/usr/share',
    '/usr/lib/python3',
  ]) {
    visit(root);
  }
  if (have === 0) throw new Error('no text files under /usr');
  let text = Buffer.concat(parts);
  while (text.length < want) text = Buffer.concat([text, text]);
  return text.subarray(0, want);
}
