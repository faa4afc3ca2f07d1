/**
 * The access file of `skiff registry serve --access FILE`: who may pull, push or delete in
 * which repositories. YAML (JSON is YAML too):
 *
 *     groups:
 *       team: [alice, bob]
 *     rules:
 *       - who: [team]              # user names, group names, "*" (any user who logged in), "anonymous"
 *         repositories: ["team/*"] # RepositoryPattern globs: * within a segment, ** across segments
 *         actions: [pull, push]    # pull, push, delete, or "*" for all three
 *
 * Rules only grant, never take away: a request is allowed when any rule grants each action it
 * needs. A name under `groups` always means the group, and `anonymous` and `*` are never user
 * names. The file is read once, when the server starts: anything wrong in it is one error line
 * naming the file and the line, before the server listens.
 */
import fs from 'node:fs';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Pair } from 'yaml';
import { describeError, InvalidArgument } from '../../util/errors.js';
import { RepositoryPattern } from './repository-pattern.js';

export const ACCESS_ACTIONS = ['pull', 'push', 'delete'] as const;
export type AccessAction = (typeof ACCESS_ACTIONS)[number];

/** In `who`: any user who gave valid credentials. */
export const ANY_USER = '*';
/** In `who`: a caller who gave no credentials at all. */
export const ANONYMOUS = 'anonymous';

export interface AccessRule {
  who: string[];
  repositories: RepositoryPattern[];
  actions: AccessAction[];
}

/** A user name as htpasswd and tokens carry it: no blanks, no colon (htpasswd's separator). */
const USER_NAME = /^[^\s:]+$/;

export class AccessPolicy {
  readonly #groups: Map<string, Set<string>>;
  readonly #rules: AccessRule[];

  constructor(groups: Map<string, Set<string>>, rules: AccessRule[]) {
    this.#groups = groups;
    this.#rules = rules;
  }

  /** Reads and checks `file`; throws ACCESS_FILE_INVALID with the line of the first problem. */
  static read(file: string): AccessPolicy {
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (err) {
      throw new InvalidArgument(`read access file \`${file}\`: ${describeError(err)}`, {
        code: 'ACCESS_FILE_INVALID',
        cause: err,
      });
    }
    return AccessPolicy.parse(text, file);
  }

  /** `source` names the text in errors (the file's path). */
  static parse(text: string, source: string): AccessPolicy {
    return new AccessFileReader(text, source).read();
  }

  /** `user` is undefined for an anonymous caller. */
  #applies(rule: AccessRule, user: string | undefined): boolean {
    return rule.who.some((who) => {
      if (who === ANONYMOUS) return user === undefined;
      if (user === undefined) return false;
      if (who === ANY_USER) return true;
      const group = this.#groups.get(who);
      return group !== undefined ? group.has(user) : who === user;
    });
  }

  /** Every action the rules grant `user` (undefined: anonymous) on `repository`. */
  actions(user: string | undefined, repository: string): Set<AccessAction> {
    const granted = new Set<AccessAction>();
    for (const rule of this.#rules) {
      if (!this.#applies(rule, user) || !rule.repositories.some((p) => p.matches(repository))) continue;
      for (const action of rule.actions) granted.add(action);
    }
    return granted;
  }

  allows(user: string | undefined, repository: string, action: AccessAction): boolean {
    return this.actions(user, repository).has(action);
  }

  /** Whether some rule lets `user` pull anything: then the catalog is worth showing them. */
  pullsAnything(user: string | undefined): boolean {
    return this.#rules.some((rule) => rule.actions.includes('pull') && this.#applies(rule, user));
  }
}

type YamlNode = unknown;

/** A string of a list, and its node, so that an error names the line of that very item. */
interface Listed {
  text: string;
  node: YamlNode;
}

/** One pass over the parsed YAML, failing at the first problem with its line number. */
class AccessFileReader {
  readonly #text: string;
  readonly #source: string;
  readonly #lines = new LineCounter();

  constructor(text: string, source: string) {
    this.#text = text;
    this.#source = source;
  }

  #fail(at: YamlNode | number, where: string, what: string): never {
    const offset =
      typeof at === 'number'
        ? at
        : ((at as { range?: [number, number, number] } | null | undefined)?.range?.[0] ?? 0);
    const line = this.#lines.linePos(offset).line;
    const place = where === '' ? '' : `${where}: `;
    throw new InvalidArgument(`read access file \`${this.#source}\`: line ${line}: ${place}${what}`, {
      code: 'ACCESS_FILE_INVALID',
    });
  }

  read(): AccessPolicy {
    const doc = parseDocument(this.#text, {
      lineCounter: this.#lines,
      prettyErrors: false,
      uniqueKeys: true,
    });
    const syntax = doc.errors[0];
    if (syntax !== undefined)
      this.#fail(syntax.pos[0], '', `not valid YAML: ${syntax.message.replace(/\s+/g, ' ')}`);
    const top = doc.contents;
    if (top === null) this.#fail(0, '', 'the file is empty; it needs `rules:` (and may have `groups:`)');
    if (!isMap(top)) this.#fail(top, '', 'the top level must be a mapping of `groups:` and `rules:`');
    const entries = this.#keys(top.items, '', ['groups', 'rules']);
    const groups = this.#groups(entries.get('groups'));
    const rulesPair = entries.get('rules');
    if (rulesPair === undefined) this.#fail(top, '', 'no `rules:`; without rules nobody may do anything');
    const rulesNode = rulesPair.value;
    if (!isSeq(rulesNode))
      this.#fail(rulesNode ?? rulesPair.key, 'rules', 'must be a list of rules (`- who: …`)');
    const rules = rulesNode.items.map((item, i) => this.#rule(item, `rules[${i}]`));
    return new AccessPolicy(groups, rules);
  }

  /** The pairs of a mapping by key; an unknown or non-string key fails. */
  #keys(pairs: Pair[], where: string, allowed: string[]): Map<string, Pair> {
    const byKey = new Map<string, Pair>();
    for (const pair of pairs) {
      const key = isScalar(pair.key) ? pair.key.value : undefined;
      const path = where === '' ? String(key) : `${where}.${String(key)}`;
      if (typeof key !== 'string' || !allowed.includes(key))
        this.#fail(pair.key, path, `unknown key; expected ${allowed.map((k) => `\`${k}\``).join(', ')}`);
      byKey.set(key, pair);
    }
    return byKey;
  }

  #groups(pair: Pair | undefined): Map<string, Set<string>> {
    const groups = new Map<string, Set<string>>();
    const members = new Map<string, Listed[]>();
    if (pair === undefined || pair.value === null) return groups;
    if (!isMap(pair.value)) this.#fail(pair.value, 'groups', 'must map group names to lists of users');
    for (const entry of pair.value.items) {
      const name = isScalar(entry.key) ? entry.key.value : undefined;
      const path = `groups.${String(name)}`;
      if (typeof name !== 'string' || !USER_NAME.test(name))
        this.#fail(entry.key, path, 'a group name must be a word without blanks or colons');
      if (name === ANY_USER || name === ANONYMOUS)
        this.#fail(entry.key, path, `\`${name}\` is reserved in \`who\` and cannot name a group`);
      members.set(name, this.#strings(entry.value, path, entry.key));
      groups.set(name, new Set());
    }
    // Only now are all group names known: a member that is one is a nested group, refused.
    for (const [name, list] of members)
      for (const { text, node } of list) {
        if (text === ANY_USER || text === ANONYMOUS || groups.has(text))
          this.#fail(node, `groups.${name}`, `\`${text}\` is not a user name (groups hold users)`);
        if (!USER_NAME.test(text)) this.#fail(node, `groups.${name}`, `\`${text}\` is not a user name`);
        groups.get(name)!.add(text);
      }
    return groups;
  }

  #rule(node: YamlNode, where: string): AccessRule {
    if (!isMap(node))
      this.#fail(node, where, 'a rule must be a mapping of `who`, `repositories` and `actions`');
    const fields = this.#keys(node.items, where, ['who', 'repositories', 'actions']);
    const field = (key: string): Listed[] => {
      const pair = fields.get(key);
      if (pair === undefined) this.#fail(node, where, `no \`${key}\``);
      return this.#strings(pair.value, `${where}.${key}`, pair.key);
    };
    const who = field('who').map(({ text, node }) => {
      if (!USER_NAME.test(text)) this.#fail(node, `${where}.who`, `\`${text}\` is not a user or group name`);
      return text;
    });
    const repositories = field('repositories').map(({ text, node }) => {
      const pattern = RepositoryPattern.parse(text);
      if (!(pattern instanceof RepositoryPattern))
        this.#fail(node, `${where}.repositories`, `\`${text}\` ${pattern.problem}`);
      return pattern;
    });
    const actions = new Set<AccessAction>();
    for (const { text, node } of field('actions')) {
      if (text === '*') ACCESS_ACTIONS.forEach((a) => actions.add(a));
      else if ((ACCESS_ACTIONS as readonly string[]).includes(text)) actions.add(text as AccessAction);
      else
        this.#fail(
          node,
          `${where}.actions`,
          `\`${text}\` is not an action; expected pull, push, delete or "*"`,
        );
    }
    return { who, repositories, actions: [...actions] };
  }

  /** A non-empty list of strings; one string alone stands for a list of one. */
  #strings(node: YamlNode, where: string, fallback: YamlNode): Listed[] {
    const items = isSeq(node) ? node.items : isScalar(node) && node.value !== null ? [node] : undefined;
    if (items === undefined || items.length === 0)
      this.#fail(node ?? fallback, where, 'must be a non-empty list of strings');
    return items.map((item) => {
      if (!isScalar(item) || typeof item.value !== 'string')
        this.#fail(item ?? node, where, 'must be a list of strings (quote numbers and `*`)');
      return { text: item.value, node: item };
    });
  }
}
