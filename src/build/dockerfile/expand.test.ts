/**
 * Table tests for the word lexer. Most rows are BuildKit's own (frontend/dockerfile/shell
 * envVarTest and wordsTest, with PWD=/home and SHELL=bash); the rest cover the substitutions
 * added since (`#`, `%`, `/`, `?`) and the backtick escape.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ExpandError, expandWord, expandWords, globToRegExp } from './expand.js';

const ENV = new Map([
  ['PWD', '/home'],
  ['SHELL', 'bash'],
  ['KOREAN', '한국어'],
  ['EMPTY', ''],
  ['FILE', 'archive.tar.gz'],
  ['PATHV', '/usr/local/bin/tool'],
  ['SPACE', 'abc  def'],
  ['LEADING', '  ab c'],
  ['TRAILING', 'ab c   '],
  ['STAR', '*abc*'],
]);

/** [input, expected] — expected null means an ExpandError. */
const WORD_ROWS: [string, string | null][] = [
  ['hello', 'hello'],
  ["he'll'o", 'hello'],
  ["he'llo", null],
  ["he\\'llo", "he'llo"],
  ["he\\\\'llo", null],
  ['abc\\tdef', 'abctdef'],
  ['"abc\\tdef"', 'abc\\tdef'],
  ['"abc\\\\tdef"', 'abc\\tdef'],
  ["'abc\\tdef'", 'abc\\tdef'],
  ['hello\\', 'hello'],
  ['hello\\\\', 'hello\\'],
  ['"hello', null],
  ['"hello\\"', null],
  ['"hel\'lo"', "hel'lo"],
  ["'hello", null],
  ["'hello\\'", 'hello\\'],
  ["'hello\\there'", 'hello\\there'],
  ['"\'\'"', "''"],
  ['$.', '$.'],
  ['$1', ''],
  ['he$1x', 'hex'],
  ['he$.x', 'he$.x'],
  ['he$pwd.', 'he.'],
  ['he$PWD', 'he/home'],
  ['he\\$PWD', 'he$PWD'],
  ['he\\\\$PWD', 'he\\/home'],
  ['"he\\$PWD"', 'he$PWD'],
  ['"he\\\\$PWD"', 'he\\/home'],
  ['he\\${}', 'he${}'],
  // `${}` names nothing: a bad substitution (BuildKit: "syntax error: bad substitution").
  ['he${}xx', null],
  ['${}', null],
  ['"${}"', null],
  ['${', null],
  ['${:-x}', null],
  ['${{PWD}}', null],
  ['he${hi}xx', 'hexx'],
  ['he${PWD}', 'he/home'],
  ['he${.}', null],
  ['he${XXX:-000}xx', 'he000xx'],
  ['he${PWD:-000}xx', 'he/homexx'],
  ['he${XXX:-$PWD}xx', 'he/homexx'],
  ['he${XXX:-${PWD:-yyy}}xx', 'he/homexx'],
  ['he${XXX:-${YYY:-yyy}}xx', 'heyyyxx'],
  ['he${XXX:YYY}', null],
  ['he${XXX:+${PWD}}xx', 'hexx'],
  ['he${PWD:+${XXX}}xx', 'hexx'],
  ['he${PWD:+${SHELL}}xx', 'hebashxx'],
  ['he${XXX:+000}xx', 'hexx'],
  ['he${PWD:+000}xx', 'he000xx'],
  ["'he${XX}'", 'he${XX}'],
  ['"he${PWD}"', 'he/home'],
  ['"he\'$PWD\'"', "he'/home'"],
  ["'$PWD'", '$PWD'],
  ["'\\$PWD'", '\\$PWD'],
  ['\'"hello"\'', '"hello"'],
  ['he${PWD', null],
  ['he${PWD:=000}xx', null],
  ['he${PWD:+${PWD}:}xx', 'he/home:xx'],
  ['he${XXX:-\\$PWD:}xx', 'he$PWD:xx'],
  ['he${XXX:-\\${PWD}z}xx', 'he${PWDz}xx'],
  ["안'녕'하세요", '안녕하세요'],
  ['안녕$KOREAN', '안녕한국어'],
  // The colon-less forms test only whether the variable is set.
  ['${EMPTY:-d}', 'd'],
  ['${EMPTY-d}', ''],
  ['${UNSET-d}', 'd'],
  ['${EMPTY:+a}', ''],
  ['${EMPTY+a}', 'a'],
  ['${UNSET+a}', ''],
  ['${PWD:?must be set}', '/home'],
  ['${UNSET:?must be set}', null],
  ['${EMPTY:?}', null],
  ['${EMPTY?}', ''],
  ['${UNSET?}', null],
  // Prefix and suffix removal with glob patterns.
  ['${FILE#*.}', 'tar.gz'],
  ['${FILE##*.}', 'gz'],
  ['${FILE%.*}', 'archive.tar'],
  ['${FILE%%.*}', 'archive'],
  ['${PATHV##*/}', 'tool'],
  ['${PATHV%/*}', '/usr/local/bin'],
  ['${FILE#nomatch}', 'archive.tar.gz'],
  ['${FILE%.t?r.gz}', 'archive'],
  ['${FILE#[ab]rch}', 'ive.tar.gz'],
  ['${UNSET#x}', ''],
  ['${FILE#${EMPTY}a}', 'rchive.tar.gz'],
  // Quoted or escaped glob characters are literal.
  ['${STAR#\\*}', 'abc*'],
  ['${STAR%"*"}', '*abc'],
  ["${FILE#'*'}", 'archive.tar.gz'],
  ['${STAR#*}', '*abc*'],
  ['${STAR##*}', ''],
  ['${STAR//[*]/-}', '-abc-'],
  // Replacement.
  ['${FILE/a/A}', 'Archive.tar.gz'],
  ['${FILE//a/A}', 'Archive.tAr.gz'],
  ['${PATHV//\\//:}', ':usr:local:bin:tool'],
  ['${FILE/.tar}', 'archive.gz'],
  ['${FILE:5}', null],
  ['${FILE^^}', null],
  // A positional parameter is all the digits after `$`; a build has none, so it is empty.
  ['$999aaa', 'aaa'],
  ['${999:-bbb}', 'bbb'],
  ['${999-bbb}', 'bbb'],
  ['${999:+bbb}', ''],
  ['${999}x', 'x'],
  ['$10x', 'x'],
  ['$0', ''],
  ['$01a', 'a'],
  ['a\\$999b', 'a$999b'],
  ['"$999aaa"', 'aaa'],
  // Special parameters are one character, and empty too: `$$PWD` is `$$` then `PWD`.
  ['$$PWD', 'PWD'],
  ['$#PWD', 'PWD'],
  ['\\$@', '$@'],
  ["'$@'", '$@'],
  ['${#}', ''],
  ['${#:-d}', 'd'],
  ['${##}', ''],
  ['${#PWD}', null],
  ['$', '$'],
  ['a$', 'a$'],
  ['$%', '$%'],
  ...['@', '*', '#', '?', '-', '$', '!'].flatMap((p): [string, string | null][] => [
    [`$${p}`, ''],
    [`a$${p}b`, 'ab'],
    [`"a$${p}b"`, 'ab'],
    [`\${${p}}`, ''],
    [`\${${p}:-bbb}`, 'bbb'],
    [`\${${p}-bbb}`, 'bbb'],
    [`\${${p}:+bbb}`, ''],
    [`\${${p}+bbb}`, ''],
    [`\${PWD:-$${p}}`, '/home'],
    [`\${XXX:-x$${p}y}`, 'xy'],
  ]),
];

for (const [input, expected] of WORD_ROWS) {
  test(`expandWord ${input}`, () => {
    if (expected === null) {
      assert.throws(() => expandWord(input, ENV), ExpandError);
    } else {
      assert.equal(expandWord(input, ENV), expected);
    }
  });
}

/** Words: split on unquoted whitespace, including inside an unquoted variable's value. */
const WORDS_ROWS: [string, string[] | null][] = [
  ['hello', ['hello']],
  ['hello${hi}bye', ['hellobye']],
  ['hello${SPACE}bye', ['helloabc', 'defbye']],
  ['hello"${SPACE}"bye', ['helloabc  defbye']],
  ['hello "${SPACE}"bye', ['hello', 'abc  defbye']],
  ['hello${LEADING}def', ['hello', 'ab', 'cdef']],
  ['hello"${LEADING}" def', ['hello  ab c', 'def']],
  ['hello${TRAILING}d', ['helloab', 'c', 'd']],
  ['hello"${TRAILING}"d', ['helloab c   d']],
  ['hello" there  "', ['hello there  ']],
  ['hello there     ', ['hello', 'there']],
  ['hello\\ there', ['hello there']],
  ['hello" there', null],
  ['hello\\" there', ['hello"', 'there']],
  ['hello"\\\\there"', ['hello\\there']],
  ["hello'$there'", ['hello$there']],
  ['80 ${UNSET} 443/udp', ['80', '443/udp']],
  ['"" a', ['a']],
  ["a '' b", ['a', 'b']],
  ['a $@ b', ['a', 'b']],
  ['$999aaa ${@:-bbb} $$ c', ['aaa', 'bbb', 'c']],
  ['a ${} b', null],
];

for (const [input, expected] of WORDS_ROWS) {
  test(`expandWords ${input}`, () => {
    if (expected === null) assert.throws(() => expandWords(input, ENV), ExpandError);
    else assert.deepEqual(expandWords(input, ENV), expected);
  });
}

test('the backtick escape directive escapes with ` and leaves \\ alone', () => {
  const opts = { escape: '`' } as const;
  assert.equal(expandWord('C:\\Users\\$SHELL', ENV, opts), 'C:\\Users\\bash');
  assert.equal(expandWord('a`$PWD', ENV, opts), 'a$PWD');
  assert.equal(expandWord('"a`"b"', ENV, opts), 'a"b');
  assert.deepEqual(expandWords('a` b c', ENV, opts), ['a b', 'c']);
});

test('an expand error names the word', () => {
  assert.throws(() => expandWord('x${A', ENV), /expand `x\$\{A`: /);
  assert.throws(() => expandWord('a${}b', ENV), { message: 'expand `a${}b`: bad substitution' });
});

test('special and positional parameters are empty with the backtick escape too', () => {
  const opts = { escape: '`' } as const;
  assert.equal(expandWord('$999aaa${@:-bbb}', ENV, opts), 'aaabbb');
  assert.equal(expandWord('`$@', ENV, opts), '$@');
});

test('a variable named like a parameter is still looked up, as BuildKit does', () => {
  assert.equal(expandWord('${1:-d}$1', new Map([['1', 'one']])), 'oneone');
});

test('globToRegExp escapes regex characters and keeps classes', () => {
  assert.ok(globToRegExp('a.b').test('a.b'));
  assert.ok(!globToRegExp('a.b').test('axb'));
  assert.ok(globToRegExp('[!a]x').test('bx'));
  assert.ok(!globToRegExp('[!a]x').test('ax'));
});
