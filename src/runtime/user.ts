/**
 * `-u`/USER against the image's own /etc/passwd and /etc/group, with the rules of moby/sys
 * `user.GetExecUser` (which Docker and runc use): "name", "uid", "uid:gid", "name:group";
 * a known user brings its primary group and home; a numeric id need not exist; supplementary
 * groups come from /etc/group membership unless a group was given explicitly.
 */
import { InvalidArgument } from '../util/errors.js';
import { readFileInRoot } from './in-root.js';

export interface ExecUser {
  uid: number;
  gid: number;
  additionalGids: number[];
  home: string;
}

interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

const MAX_ID = 2 ** 31 - 1;

export function resolveUser(rootfs: string, user: string | undefined): ExecUser {
  const spec = (user ?? '').trim();
  const colon = spec.indexOf(':');
  const userArg = colon < 0 ? spec : spec.slice(0, colon);
  const groupArg = colon < 0 ? '' : spec.slice(colon + 1);

  const passwd = parsePasswd(readFileInRoot(rootfs, '/etc/passwd') ?? '');
  const result: ExecUser & { name?: string } = { uid: 0, gid: 0, additionalGids: [], home: '/' };

  const entry = passwd.find((u) =>
    userArg === '' ? u.uid === 0 : u.name === userArg || String(u.uid) === userArg,
  );
  if (entry) {
    Object.assign(result, { uid: entry.uid, gid: entry.gid, home: entry.home, name: entry.name });
  } else if (userArg !== '') {
    if (!/^\d+$/.test(userArg)) {
      throw new InvalidArgument(`unable to find user \`${userArg}\`: no matching entries in passwd file`, {
        code: 'USER_NOT_FOUND',
      });
    }
    result.uid = checkId(userArg);
  }

  const needGroups = groupArg !== '' || result.name !== undefined;
  const groups = needGroups ? parseGroup(readFileInRoot(rootfs, '/etc/group') ?? '') : [];
  if (groupArg !== '') {
    const group = groups.find((g) => g.name === groupArg || String(g.gid) === groupArg);
    if (group) result.gid = group.gid;
    else if (/^\d+$/.test(groupArg)) result.gid = checkId(groupArg);
    else {
      throw new InvalidArgument(`unable to find group \`${groupArg}\`: no matching entries in group file`, {
        code: 'GROUP_NOT_FOUND',
      });
    }
  } else if (result.name !== undefined) {
    // Supplementary groups only in the implicit form, as GetExecUser.
    const name = result.name;
    result.additionalGids = [...new Set(groups.filter((g) => g.members.includes(name)).map((g) => g.gid))];
  }
  // The primary group is listed among the supplementary ones too, as Docker and Podman do since
  // CVE-2022-36109 / CVE-2022-2989: otherwise a file's "group may not read" bits could be
  // sidestepped by dropping the primary group.
  // Only for a named user, as Podman does; the default root keeps no supplementary group.
  const additionalGids =
    spec === '' ? result.additionalGids : [...new Set([result.gid, ...result.additionalGids])];
  return { uid: result.uid, gid: result.gid, additionalGids, home: result.home };
}

function checkId(text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n > MAX_ID) {
    throw new InvalidArgument(`invalid user \`${text}\`: uids and gids must be in range 0-${MAX_ID}`);
  }
  return n;
}

/** passwd(5) lines name:password:uid:gid:gecos:home:shell; malformed lines are skipped, as libc does. */
export function parsePasswd(text: string): PasswdEntry[] {
  const out: PasswdEntry[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '' || line.startsWith('#')) continue;
    const f = line.split(':');
    const uid = Number(f[2]);
    const gid = Number(f[3]);
    if (f.length < 4 || !f[0] || !/^\d+$/.test(f[2] ?? '') || !/^\d+$/.test(f[3] ?? '')) continue;
    out.push({ name: f[0], uid, gid, home: f[5] || '/' });
  }
  return out;
}

/** group(5) lines name:password:gid:member,member. */
export function parseGroup(text: string): GroupEntry[] {
  const out: GroupEntry[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '' || line.startsWith('#')) continue;
    const f = line.split(':');
    if (f.length < 3 || !f[0] || !/^\d+$/.test(f[2] ?? '')) continue;
    const members = (f[3] ?? '')
      .split(',')
      .map((m) => m.trim())
      .filter((m) => m !== '');
    out.push({ name: f[0], gid: Number(f[2]), members });
  }
  return out;
}
