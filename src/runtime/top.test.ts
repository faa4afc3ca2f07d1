import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkPsArgs, parsePs } from './top.js';

const PS_EF = `UID          PID    PPID  C STIME TTY          TIME CMD
root           1       0  0 03:36 ?        00:00:02 /sbin/init
root        7335    7333  0 03:41 ?        00:00:00 sleep 1000
1000        7400    7335  0 03:42 pts/0    00:00:00 sh -c  echo "a  b"; sleep 5
`;

test('ps rows of the container’s pids, columns split, the command kept whole', () => {
  const table = parsePs(PS_EF, new Set([7335, 7400]));
  assert.deepEqual(table.titles, ['UID', 'PID', 'PPID', 'C', 'STIME', 'TTY', 'TIME', 'CMD']);
  assert.deepEqual(table.processes, [
    ['root', '7335', '7333', '0', '03:41', '?', '00:00:00', 'sleep 1000'],
    // Blanks inside the command collapse, as in Docker's own split.
    ['1000', '7400', '7335', '0', '03:42', 'pts/0', '00:00:00', 'sh -c echo "a b"; sleep 5'],
  ]);
});

test('other ps layouts: the PID column is found by its title', () => {
  const aux = `USER         PID %CPU %MEM    VSZ   RSS TTY      STAT START   TIME COMMAND
root        7335  0.0  0.0   2268  1760 ?        Ss   03:41   0:00 sleep 1000
root        9999  0.0  0.0   2268  1760 ?        Ss   03:41   0:00 not ours
`;
  const table = parsePs(aux, new Set([7335]));
  assert.equal(table.titles.at(-1), 'COMMAND');
  assert.deepEqual(table.processes, [
    ['root', '7335', '0.0', '0.0', '2268', '1760', '?', 'Ss', '03:41', '0:00', 'sleep 1000'],
  ]);
  assert.throws(() => parsePs('USER COMMAND\nroot sh\n', new Set([1])), /no PID column/);
});

test('ps arguments may not rename a column to PID, except pid itself', () => {
  assert.doesNotThrow(() => checkPsArgs(' -o pid=PID,comm'));
  assert.doesNotThrow(() => checkPsArgs(' aux'));
  assert.throws(() => checkPsArgs(' -o user=PID'), /user=PID/);
});
