// The site's identity, built once at startup and on reload: the NSID option (RFC 5001) and the
// CHAOS TXT answers (RFC 4892) for id.server, hostname.bind, version.bind and version.server.

import type { Sections } from '../wire/index.js';
import { Class, OPT_NSID, Section, SectionWriter, T, encodeOption, nameFromText, nameKey } from '../wire/index.js';

export interface IdentityConfig {
  /** Carried by NSID and id.server. */
  siteId: string;
  /** Carried by hostname.bind. */
  hostname: string;
  /** version.bind / version.server; null hides it (REFUSED). */
  version: string | null;
}

export type ChaosAnswer = { kind: 'answer'; sections: Sections } | { kind: 'nodata' } | { kind: 'refused' };

export interface Identity {
  readonly siteId: string;
  /** The encoded NSID option (code, length, site id), ready to append to an OPT. */
  readonly nsidOption: Uint8Array;
  /** The answer for a class CH question. */
  chaos(key: string, qtype: number): ChaosAnswer;
}

const REFUSED: ChaosAnswer = { kind: 'refused' };
const NODATA: ChaosAnswer = { kind: 'nodata' };

export function buildIdentity(cfg: IdentityConfig): Identity {
  const answers = new Map<string, Sections | null>();
  const add = (name: string, value: string | null): void => {
    const wire = nameFromText(name, null);
    answers.set(nameKey(wire), value === null ? null : txtSections(wire, value));
  };
  // RFC 4892 §2.2: id.server names the server instance; hostname.bind is BIND's older form.
  add('id.server.', cfg.siteId);
  add('hostname.bind.', cfg.hostname);
  add('version.bind.', cfg.version);
  add('version.server.', cfg.version);
  const nsidOption = encodeOption(OPT_NSID, Buffer.from(cfg.siteId, 'utf8'));
  return {
    siteId: cfg.siteId,
    nsidOption,
    chaos(key, qtype) {
      const s = answers.get(key);
      if (!s) return REFUSED; // unknown name, or a hidden value
      return qtype === T.TXT || qtype === T.ANY ? { kind: 'answer', sections: s } : NODATA;
    },
  };
}

function txtSections(owner: Uint8Array, value: string): Sections {
  const bytes = Buffer.from(value, 'utf8');
  // A TXT string holds at most 255 bytes (RFC 1035 §3.3): longer values are split.
  const parts: number[] = [];
  for (let i = 0; i < bytes.length || i === 0; i += 255) {
    const chunk = bytes.subarray(i, i + 255);
    parts.push(chunk.length, ...chunk);
    if (bytes.length === 0) break;
  }
  const w = new SectionWriter(owner);
  w.addRRset(Section.ANSWER, [{ owner, type: T.TXT, class: Class.CH, ttl: 0, rdata: Uint8Array.from(parts) }], true);
  return w.finish();
}
