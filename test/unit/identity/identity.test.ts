// Site identity: NSID option bytes and CHAOS answers, built once.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildIdentity } from '../../../src/identity/index.ts';
import { buildResponse, nameFromText, nameKey, parseQuery } from '../../../src/wire/index.ts';
import { decode, query } from '../../helpers/wire.ts';

const id = buildIdentity({ siteId: 'fra1', hostname: 'edge-fra1.example.test', version: 'edgedns 1.2.3' });
const key = (n: string): string => nameKey(nameFromText(n, null));

describe('identity', () => {
  it('encodes NSID as option 3 carrying the site id (RFC 5001 §2.3)', () => {
    assert.deepEqual([...id.nsidOption], [0, 3, 0, 4, ...Buffer.from('fra1')]);
  });
  const table: [string, string][] = [
    ['id.server.', 'fra1'],
    ['hostname.bind.', 'edge-fra1.example.test'],
    ['version.bind.', 'edgedns 1.2.3'],
    ['version.server.', 'edgedns 1.2.3'],
  ];
  for (const [name, want] of table) {
    it(`CH TXT ${name} → "${want}"`, () => {
      const a = id.chaos(key(name), 16);
      assert.equal(a.kind, 'answer');
      if (a.kind !== 'answer') return;
      const msg = query(name.replace(/\.$/, '').toUpperCase(), 'TXT', { class: 'CH' });
      const d = decode(
        buildResponse(msg, parseQuery(msg), { rcode: 0, flags: 0, sections: a.sections, opt: null, limit: 512 }),
      );
      assert.equal(d.answers[0]?.class, 'CH');
      assert.deepEqual((d.answers[0]?.data as Buffer[]).map(String), [want]);
    });
  }
  it('REFUSED for a hidden version and unknown CH names; NODATA for other types', () => {
    const hidden = buildIdentity({ siteId: 'x', hostname: 'h', version: null });
    assert.equal(hidden.chaos(key('version.bind.'), 16).kind, 'refused');
    assert.equal(id.chaos(key('authors.bind.'), 16).kind, 'refused');
    assert.equal(id.chaos(key('id.server.'), 1).kind, 'nodata');
  });
});
