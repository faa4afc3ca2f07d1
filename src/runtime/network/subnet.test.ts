import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  formatIp,
  formatSubnet,
  freeAddress,
  gatewayOf,
  hostRoutes,
  macFor,
  overlaps,
  parseIp,
  parseSubnet,
  pickSubnet,
} from './subnet.js';
import { InvalidArgument } from '../../util/errors.js';

test('addresses round-trip', () => {
  assert.equal(parseIp('10.89.0.2'), 0x0a590002);
  assert.equal(formatIp(0xffffffff), '255.255.255.255');
  assert.equal(parseIp('10.89.0.256'), undefined);
  assert.equal(parseIp('10.89.00.1'), undefined);
  assert.equal(macFor(parseIp('10.89.1.2')!), '02:73:0a:59:01:02');
});

test('subnets: parse, gateway, free address, overlap', () => {
  const s = parseSubnet('10.89.3.0/24');
  assert.equal(formatSubnet(s), '10.89.3.0/24');
  assert.equal(formatIp(gatewayOf(s)), '10.89.3.1');
  assert.equal(formatIp(freeAddress(s, new Set())!), '10.89.3.2');
  assert.equal(formatIp(freeAddress(s, new Set([parseIp('10.89.3.2')!]))!), '10.89.3.3');
  const last = parseIp('10.89.3.254')!;
  assert.equal(formatIp(freeAddress(s, new Set(), parseIp('10.89.3.7'))!), '10.89.3.8', 'no reuse at once');
  assert.equal(formatIp(freeAddress(s, new Set([parseIp('10.89.3.2')!]), last)!), '10.89.3.3', 'wraps');
  const tiny = parseSubnet('10.0.0.0/30');
  assert.equal(
    freeAddress(tiny, new Set([parseIp('10.0.0.2')!])),
    undefined,
    'broadcast is never handed out',
  );
  assert.ok(overlaps(parseSubnet('10.89.0.0/16'), s));
  assert.ok(!overlaps(parseSubnet('10.89.2.0/24'), s));
  for (const bad of ['10.89.0.0', '10.89.0.0/33', '10.89.0.0/31', '10.89.0.5/24', 'x/24', '10.89.0.0/24/1']) {
    assert.throws(() => parseSubnet(bad), InvalidArgument, bad);
  }
  assert.throws(() => parseSubnet('10.89.0.5/24'), /invalid subnet `10.89.0.5\/24`: host bits set/);
});

test('pickSubnet skips taken /24s', () => {
  const pool = parseSubnet('10.89.0.0/16');
  const taken = [parseSubnet('10.89.0.0/24'), parseSubnet('10.89.1.0/25')];
  assert.equal(formatSubnet(pickSubnet(pool, taken)!), '10.89.2.0/24');
  assert.equal(pickSubnet(parseSubnet('10.89.0.0/24'), taken), undefined);
});

test('hostRoutes reads /proc/net/route', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-route-'));
  const file = path.join(dir, 'route');
  fs.writeFileSync(
    file,
    'Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n' +
      'eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n' +
      'eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n' +
      'br0\t0000590A\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0\n',
  );
  assert.deepEqual(hostRoutes(file).map(formatSubnet), ['192.0.2.0/24', '10.89.0.0/16']);
  fs.rmSync(dir, { recursive: true });
});
