// Zone images: what a loader thread hands over decodes to a store that answers byte for byte as
// the store that was compiled in place; the thread reports bad files as the parser does.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { nameFromText, nameKey } from '../../../src/wire/index.ts';
import type { ZoneAnswer, ZoneStore } from '../../../src/zone/index.ts';
import { hashKey } from '../../../src/zone/image.ts';
import { openStore, loadInThread, loadZones, readImageFile, writeImageFile } from '../../../src/zone/index.ts';
import { tempDir } from '../../helpers/tmp.ts';

const dir = tempDir('edgedns-image-');
const parent = join(dir, 'example.test.zone');
writeFileSync(
  parent,
  `$TTL 3600
@ SOA ns1 host 7 2 3 4 300
@ NS ns1
@ MX 10 mail
ns1 A 192.0.2.1
mail A 192.0.2.25
www A 192.0.2.80
www TXT "web"
a CNAME www
*.wild A 192.0.2.42
host.ent A 192.0.2.7
sub NS ns.sub
ns.sub A 192.0.2.53
child NS ns1
old DNAME new.example.org.
`,
);
const child = join(dir, 'child.example.test.zone');
writeFileSync(
  child,
  `$TTL 60
@ SOA ns1.example.test. host 1 2 3 4 30
@ NS ns1.example.test.
x AAAA 2001:db8::1
`,
);
const specs = [
  { file: parent, origin: 'example.test.' },
  { file: child, origin: 'child.example.test.' },
];

const NAMES = [
  'example.test.',
  'www.example.test.',
  'a.example.test.',
  'nx.example.test.',
  'q.wild.example.test.',
  'ent.example.test.',
  'deep.sub.example.test.',
  'sub.example.test.',
  'child.example.test.',
  'x.child.example.test.',
  'y.child.example.test.',
  'z.old.example.test.',
];
const TYPES = [1, 2, 6, 15, 16, 28, 43, 255, 65];

const bytes = (a: ZoneAnswer | undefined): string =>
  a
    ? `${a.rcode}/${a.flags}/${Buffer.from(a.sections.bytes).toString('hex')}/${a.sections.an},${a.sections.ns},${a.sections.ar}/${JSON.stringify(a.sections.cuts)}/${a.sections.ttlOffsets.join(',')}`
    : 'none';

function assertSame(a: ZoneStore, b: ZoneStore): void {
  assert.deepEqual(b.zones(), a.zones());
  for (const n of NAMES)
    for (const t of TYPES) {
      const k = nameKey(nameFromText(n, null));
      assert.equal(bytes(b.answer(k, t)), bytes(a.answer(k, t)), `${n} type ${t}`);
    }
}

/** Opening a damaged image either works or throws; it must not hang. */
function openStoreOrError(image: Parameters<typeof openStore>[0]): string {
  try {
    const s = openStore(image);
    s.answer(nameKey(nameFromText('nothere.example.test.', null)), 1);
  } catch {
    // refused: fine
  }
  return 'opened or refused';
}

describe('zone images', () => {
  it('a store decoded from the loader thread answers as the store compiled in place', async () => {
    const direct = loadZones(specs, 1000);
    const decoded = openStore(await loadInThread(specs, { now: 1000 }));
    assertSame(direct, decoded);
  });

  it('survives a file round trip (the workers: N path)', async () => {
    const direct = loadZones(specs, 1000);
    const path = join(dir, 'zones.img');
    await writeImageFile(path, direct.image());
    assertSame(direct, openStore(await readImageFile(path)));
  });

  it('a truncated image file is refused, not half loaded', async () => {
    const path = join(dir, 'cut.img');
    await writeImageFile(path, loadZones(specs).image());
    const whole = (await import('node:fs')).readFileSync(path);
    writeFileSync(path, whole.subarray(0, whole.length - 10));
    await assert.rejects(readImageFile(path), /truncated zone image/);
  });

  it('a damaged table or header is refused with a reason, never probed for ever', async () => {
    const image = loadZones(specs).image();
    const bad = { ...image, chunks: image.chunks.map((c, i) => (i === 2 ? c.subarray(0, 12) : c)) };
    assert.throws(() => openStore(bad), /a table of 12 bytes is not a table/);
    // A full table (no empty slot): a name that is not there is still answered "not there".
    const full = {
      ...image,
      chunks: image.chunks.map((c, i) =>
        i === 2 ? new Uint8Array(new Uint32Array(c.byteLength / 4).fill(1).buffer) : c,
      ),
    };
    assert.equal(openStoreOrError(full), 'opened or refused');
    const path = join(dir, 'header.img');
    await writeImageFile(path, { ...image, chunks: [new Uint8Array(20), ...image.chunks.slice(1)] });
    await assert.rejects(readImageFile(path), /header\.img: not a zone image/);
  });

  it('the thread reports every bad file with its line', async () => {
    const bad = join(dir, 'bad.test.zone');
    writeFileSync(bad, '$TTL 60\n@ SOA ns host 1 2 3 4 5\n@ NS ns\nwww A 300.1.1.1\n');
    await assert.rejects(loadInThread([{ file: bad, origin: 'bad.test.' }]), (e: Error & { code?: string }) => {
      assert.equal(e.code, 'ERR_ZONE_PARSE');
      assert.match(e.message, /bad\.test\.zone:4: /);
      return true;
    });
  });

  it('the digest follows the content, not the order of the file', () => {
    const a = join(dir, 'a.zone');
    const b = join(dir, 'b.zone');
    writeFileSync(a, '$TTL 60\n@ SOA ns host 1 2 3 4 5\n@ NS ns\nns A 192.0.2.1\nns A 192.0.2.2\n');
    writeFileSync(b, '$TTL 60\nns A 192.0.2.2\n@ NS ns\nns A 192.0.2.1\n@ SOA ns host 1 2 3 4 5\n');
    const da = loadZones([{ file: a, origin: 'd.test.' }]).zones()[0]?.digest;
    const db = loadZones([{ file: b, origin: 'd.test.' }]).zones()[0]?.digest;
    assert.equal(da, db);
    writeFileSync(b, '$TTL 60\nns A 192.0.2.3\n@ NS ns\nns A 192.0.2.1\n@ SOA ns host 1 2 3 4 5\n');
    assert.notEqual(loadZones([{ file: b, origin: 'd.test.' }]).zones()[0]?.digest, da);
  });

  it('the digest orders names of equal hash by their keys, whatever the order of the file', () => {
    // n162789 and n379192 under d.test. have one FNV-1a hash: the digest's order falls back to the key.
    const key = (label: string): string => nameKey(nameFromText(`${label}.d.test.`, null));
    assert.equal(hashKey(key('n162789')), hashKey(key('n379192')));
    const a = join(dir, 'tie-a.zone');
    const b = join(dir, 'tie-b.zone');
    const head = '$TTL 60\n@ SOA ns host 1 2 3 4 5\n@ NS ns\nns A 192.0.2.1\n';
    writeFileSync(a, `${head}n162789 A 192.0.2.7\nn379192 A 192.0.2.8\n`);
    writeFileSync(b, `${head}n379192 A 192.0.2.8\nn162789 A 192.0.2.7\n`);
    const digest = (file: string): string | undefined => loadZones([{ file, origin: 'd.test.' }]).zones()[0]?.digest;
    assert.equal(digest(a), digest(b));
    // The records swapped between the two names: another content, another digest.
    writeFileSync(b, `${head}n379192 A 192.0.2.7\nn162789 A 192.0.2.8\n`);
    assert.notEqual(digest(b), digest(a));
  });
});
