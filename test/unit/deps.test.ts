// Every import in src/ follows the module table of DESIGN.md, and folders are imported only
// through their index.ts.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const SRC = fileURLToPath(new URL('../../src/', import.meta.url));
/** Folders whose types (only) another folder may import: metrics/ implements their observers. */
const TYPES_FROM: Record<string, string[]> = {
  metrics: ['server', 'cache', 'resolver', 'client', 'zone', 'health', 'announce', 'identity'],
  /** The settings of a module are declared by the module. */
  config: ['cache'],
};

const ALLOWED: Record<string, string[]> = {
  core: [],
  wire: ['core'],
  zone: ['wire', 'core'],
  cache: ['wire', 'core'],
  client: ['wire', 'core'],
  resolver: ['client', 'wire', 'core'],
  identity: ['wire', 'core'],
  server: ['zone', 'cache', 'resolver', 'identity', 'wire', 'core'],
  health: ['core'],
  announce: ['core'],
  metrics: ['wire', 'core'],
  config: ['core'],
  drill: ['client', 'wire', 'core'],
  cli: ['<root>', 'core'],
  '<root>': ['*'],
};

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

describe('module boundaries', () => {
  it('imports follow DESIGN.md', () => {
    const bad: string[] = [];
    for (const f of files(SRC)) {
      const rel = relative(SRC, f);
      const folder = rel.includes('/') ? (rel.split('/')[0] as string) : '<root>';
      for (const m of readFileSync(f, 'utf8').matchAll(/^(import type|import|export)[^'"]*from '(\.[^']+)'/gm)) {
        const target = relative(SRC, join(f, '..', m[2] as string));
        const tFolder = target.includes('/') ? (target.split('/')[0] as string) : '<root>';
        if (tFolder === folder) continue;
        const allowed = [...(ALLOWED[folder] ?? []), ...(m[1] === 'import type' ? (TYPES_FROM[folder] ?? []) : [])];
        if (!allowed.includes('*') && !allowed.includes(tFolder)) bad.push(`${rel} imports ${target}`);
        if (tFolder !== '<root>' && !target.endsWith('/index.js')) bad.push(`${rel} imports ${target} instead of ${tFolder}/index.js`);
      }
      if (folder !== 'metrics' && /from 'prom-client'/.test(readFileSync(f, 'utf8'))) bad.push(`${rel} imports prom-client (only metrics/ may)`);
    }
    assert.deepEqual(bad, []);
  });
});
