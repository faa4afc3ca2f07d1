/**
 * Which fields of which instructions expand (Dockerfile reference, "Environment
 * replacement"), and that errors come back with the instruction's line.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { expandInstruction } from './expand-instruction.js';
import { parseInstructions, type Instruction } from './instructions.js';
import { DockerfileError } from './node.js';

test('expandInstruction expands the fields the reference lists, and not RUN commands', () => {
  const { instructions } = parseInstructions(
    [
      'FROM alpine',
      'ENV "K$N"="a $V" W=${V:-x}',
      'COPY --chown=$U:$U --from=$S $SRC/*.txt "$DEST" /d/',
      'RUN --mount=type=cache,target=$CACHE echo $V',
      'EXPOSE $PORTS 22',
      'USER $U:$G',
      'WORKDIR /srv/${APP}',
      'VOLUME $DATA',
      'LABEL v=$V',
    ].join('\n'),
  );
  const env = new Map([
    ['N', '1'],
    ['V', 'val'],
    ['U', 'app'],
    ['G', 'staff'],
    ['S', 'build'],
    ['SRC', 'src'],
    ['DEST', '/x y'],
    ['CACHE', '/c'],
    ['PORTS', '80 443/udp'],
    ['APP', 'web'],
    ['DATA', '/data'],
  ]);
  const out = instructions.map((i) => expandInstruction(i, env));
  assert.deepEqual(out[1], {
    ...instructions[1],
    pairs: [
      { key: 'K1', value: 'a val' },
      { key: 'W', value: 'val' },
    ],
  });
  const copy = out[2]!;
  assert.ok(copy.kind === 'COPY');
  assert.deepEqual(
    [copy.sources, copy.dest, copy.chown, copy.from],
    [['src/*.txt', '/x y'], '/d/', 'app:app', 'build'],
  );
  const run = out[3]!;
  assert.ok(run.kind === 'RUN');
  assert.deepEqual(run.command, { form: 'shell', command: 'echo $V' });
  assert.equal(run.mounts[0]!.target, '/c');
  assert.ok(out[4]!.kind === 'EXPOSE' && out[4]!.ports.join(',') === '80,443/udp,22');
  assert.ok(out[5]!.kind === 'USER' && out[5]!.user === 'app' && out[5]!.group === 'staff');
  assert.ok(out[6]!.kind === 'WORKDIR' && out[6]!.value === '/srv/web');
  assert.ok(out[7]!.kind === 'VOLUME' && out[7]!.paths[0] === '/data');
  assert.ok(out[8]!.kind === 'LABEL' && out[8]!.pairs[0]!.value === 'val');
});

test('expandInstruction reports a bad substitution at the instruction line', () => {
  const { instructions } = parseInstructions('FROM a\nWORKDIR ${X\n');
  assert.throws(() => expandInstruction(instructions[1]!, new Map(), { file: 'Dockerfile' }), {
    message: 'Dockerfile:2: expand `${X`: missing `}`',
  });
});

test('all pairs of one ENV see the variables from before it (reference example)', () => {
  // "ENV abc=bye def=$abc" gives def the old value of abc, "hello".
  const { instructions } = parseInstructions('FROM a\nENV abc=bye def=$abc\n');
  const env = expandInstruction(instructions[1]!, new Map([['abc', 'hello']]));
  assert.ok(env.kind === 'ENV');
  assert.deepEqual(env.pairs, [
    { key: 'abc', value: 'bye' },
    { key: 'def', value: 'hello' },
  ]);
});

test('CMD, ENTRYPOINT, exec-form RUN and heredocs are left for the shell', () => {
  const { instructions } = parseInstructions(
    'FROM a\nCMD echo $X\nENTRYPOINT ["$X"]\nRUN ["$X"]\nRUN <<EOF\n$X\nEOF\n',
  );
  const env = new Map([['X', 'x']]);
  for (const instruction of instructions) assert.deepEqual(expandInstruction(instruction, env), instruction);
});

test('the backtick escape directive is honoured', () => {
  const { directives, instructions } = parseInstructions('# escape=`\nFROM a\nWORKDIR C:\\app\\$X`$Y\n');
  const out = expandInstruction(instructions[1]!, new Map([['X', 'x']]), { escape: directives.escape });
  assert.ok(out.kind === 'WORKDIR');
  assert.equal(out.value, 'C:\\app\\x$Y');
});

test('positional and special parameters are empty in every instruction that expands words', () => {
  // As BuildKit's lexer: `$999aaa` is `$999` then `aaa`; `$@ $* $# $? $- $$ $!` are unset.
  const { instructions } = parseInstructions(
    [
      'FROM alpine',
      'ENV A=$999aaa B=${@:-bbb} C="x$#y" D=$$',
      'LABEL l=${999:-bbb}$*',
      'WORKDIR /w/$1x${*:-d}',
      'COPY --chown=${?:-app} --from=${!:-build} src$! /d${-:-x}/',
      'EXPOSE ${@:-80} $999',
      'USER u$@',
      'VOLUME /v$@',
      'STOPSIGNAL ${#:-TERM}',
      'ARG X=$999aaa',
      'RUN --mount=type=cache,target=${@:-/c} echo $@',
    ].join('\n'),
  );
  const out = instructions.map((i) => expandInstruction(i, new Map()));
  type Of<K> = Instruction extends infer T
    ? T extends { kind: infer J }
      ? K extends J
        ? T
        : never
      : never
    : never;
  const pick = <K extends Instruction['kind']>(i: number, kind: K): Of<K> => {
    const instruction = out[i]!;
    assert.equal(instruction.kind, kind);
    return instruction as Of<K>;
  };
  assert.deepEqual(pick(1, 'ENV').pairs, [
    { key: 'A', value: 'aaa' },
    { key: 'B', value: 'bbb' },
    { key: 'C', value: 'xy' },
    { key: 'D', value: '' },
  ]);
  assert.deepEqual(pick(2, 'LABEL').pairs, [{ key: 'l', value: 'bbb' }]);
  assert.equal(pick(3, 'WORKDIR').value, '/w/xd');
  const copy = pick(4, 'COPY');
  assert.deepEqual([copy.chown, copy.from, copy.sources, copy.dest], ['app', 'build', ['src'], '/dx/']);
  assert.deepEqual(pick(5, 'EXPOSE').ports, ['80']);
  assert.equal(pick(6, 'USER').user, 'u');
  assert.deepEqual(pick(7, 'VOLUME').paths, ['/v']);
  assert.equal(pick(8, 'STOPSIGNAL').value, 'TERM');
  assert.deepEqual(pick(9, 'ARG').args, [{ name: 'X', default: 'aaa' }]);
  const run = pick(10, 'RUN');
  assert.equal(run.mounts[0]!.target, '/c');
  assert.deepEqual(run.command, { form: 'shell', command: 'echo $@' }, 'the shell expands RUN');
});

test('`${}` is a bad substitution reported at its line, not an empty string', () => {
  const { instructions } = parseInstructions('FROM a\nLABEL x=${}\nWORKDIR /a\\\n/b${}c\n');
  assert.throws(() => expandInstruction(instructions[1]!, new Map(), { file: 'Dockerfile' }), {
    name: 'DockerfileError',
    message: 'Dockerfile:2: expand `${}`: bad substitution',
  });
  assert.throws(
    () => expandInstruction(instructions[2]!, new Map(), { file: 'Dockerfile' }),
    (err) => {
      assert.ok(err instanceof DockerfileError);
      assert.deepEqual(
        [err.line, err.endLine, err.message],
        [3, 4, 'Dockerfile:3: expand `/a/b${}c`: bad substitution'],
      );
      return true;
    },
  );
});
