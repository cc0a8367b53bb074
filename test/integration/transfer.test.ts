// AXFR in (client/transfer.ts) from BIND's named as the primary, with TSIG: the records that come
// in are the zone file's, over several messages each checked over the MAC before it; without the
// key, with another secret, or past the byte cap the transfer fails and says why.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TransferError, axfr } from '../../src/client/index.ts';
import { ErrorCode } from '../../src/core/index.ts';
import type { TsigKey } from '../../src/wire/index.ts';
import { absoluteName } from '../../src/wire/index.ts';
import { formatRecord, parseZoneText } from '../../src/zone/index.ts';
import type { RunningNamed } from '../helpers/named.ts';
import { PATIENCE_MS, until } from '../helpers/node.ts';
import { NAMED_ZONE, namedZoneText, startNamed } from '../helpers/named.ts';

const KEY: TsigKey = {
  name: 'xfr-key.',
  algorithm: 'hmac-sha256',
  secret: Buffer.from('a transfer key of 32 bytes......'),
};
// Enough records that named answers in several messages (each at most 64 KiB).
const moreRecords = Array.from({ length: 6000 }, (_, i) => `host-${i} IN A 198.51.100.${i % 250}\n`).join('');
const ZONE = `${NAMED_ZONE}.`;

let named: RunningNamed;
before(async () => {
  named = await startNamed({ transferKey: KEY, moreRecords });
});
after(async () => {
  await named.stop();
});

const opts = { key: KEY, timeoutMs: 30_000, maxBytes: 64 << 20 };
const rejectsWith = (p: Promise<unknown>, re: RegExp): Promise<void> =>
  assert.rejects(p, (e: unknown) => e instanceof TransferError && e.code === ErrorCode.TRANSFER && re.test(e.message));

describe('AXFR from named, with TSIG', () => {
  it('takes the whole zone: the records of its file, over several signed messages', async (t0) => {
    const t = await axfr(named, ZONE, opts);
    t0.diagnostic(`${t.records.length} records in ${t.messages} messages, ${t.bytes} bytes`);
    assert.equal(t.serial, 1);
    assert.ok(t.messages > 1, `${t.messages} messages`);
    const want = parseZoneText(namedZoneText({ moreRecords }), absoluteName(ZONE)).map((r) => formatRecord(r));
    const got = t.records.map((r) => formatRecord(r));
    assert.equal(got.length, want.length);
    assert.deepEqual([...got].sort(), [...want].sort());
    assert.match(got[0] as string, /\tSOA\t/, 'the SOA first');
  });

  it('unsigned, or with another secret: refused, and the transfer says so', async () => {
    await rejectsWith(axfr(named, ZONE, { ...opts, key: null }), /refused: rcode (REFUSED|NOTAUTH)/);
    await rejectsWith(
      axfr(named, ZONE, { ...opts, key: { ...KEY, secret: Buffer.from('another key of 32 bytes.........') } }),
      /the primary answered TSIG BADSIG/,
    );
    // named logs it after it has answered: wait for the line.
    const logged = /request has invalid signature: TSIG xfr-key: tsig verify failure \(BADSIG\)/;
    await until(() => logged.test(named.log()), PATIENCE_MS, 'named to log the bad signature').catch(() => undefined);
    assert.match(named.log(), logged);
  });

  it('a zone it does not serve: refused', async () => {
    await rejectsWith(axfr(named, 'not-here.example.', opts), /refused: rcode (NOTAUTH|REFUSED|NOTZONE)/);
  });

  it('more bytes than allowed: stopped', async () => {
    await rejectsWith(axfr(named, ZONE, { ...opts, maxBytes: 10_000 }), /more than 10000 bytes/);
  });
});
