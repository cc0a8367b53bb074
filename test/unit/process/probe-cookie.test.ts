// The probe cookie another process (`edgedns guard`) mints from the node's config: with
// cookies.secretFile it is the node's own probe cookie — a probe the node recognises and whose
// server cookie it accepts — and without one there is none (the node's secret is its own).
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadConfig } from '../../../src/config/index.ts';
import { cookiesOf, probeCookieOf } from '../../../src/process/index.ts';
import { CookieVerdict, readCookieSecrets } from '../../../src/server/index.ts';
import { tempDir } from '../../helpers/tmp.ts';

describe('probeCookieOf', () => {
  it("with the node's secret file: the node takes it for its own probe, with a valid server cookie", () => {
    const dir = tempDir('edgedns-probe-cookie-');
    try {
      writeFileSync(join(dir, 'secret'), '0123456789abcdef0123456789abcdef\n');
      writeFileSync(join(dir, 'edgedns.yaml'), 'cookies: { secretFile: secret }\n');
      const mint = probeCookieOf(loadConfig(join(dir, 'edgedns.yaml')));
      assert.ok(mint);
      const option = mint('192.0.2.53');
      // The node's side: cookies from the same secret file.
      const node = cookiesOf(readCookieSecrets(join(dir, 'secret'), null));
      const data = option.subarray(4);
      assert.equal(node.isProbe(data, 0), true);
      assert.equal(node.verdict(data, 0, data.length, '192.0.2.53'), CookieVerdict.VALID);
      assert.equal(node.verdict(data, 0, data.length, '198.51.100.7'), CookieVerdict.INVALID, 'bound to its address');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('without cookies.secretFile: none', () => {
    assert.equal(probeCookieOf(loadConfig(undefined)), null);
  });
});
