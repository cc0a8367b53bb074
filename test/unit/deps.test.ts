// Every import in src/ — static, re-export or dynamic import() — follows the module table below
// (ARCHITECTURE.md draws it), and folders are imported only through their index.ts. The entry
// point (src/main.ts) is the only file at the root and may import only the CLI.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const SRC = fileURLToPath(new URL('../../src/', import.meta.url));
/** Folders whose types (only) another folder may import: metrics/ implements their observers, config/ holds their settings. */
const TYPES_FROM: Record<string, string[]> = {
  metrics: ['server', 'cache', 'resolver', 'client', 'zone', 'health', 'announce', 'identity', 'fleet', 'secondary'],
  config: ['cache'],
};

/** What each folder may import, bottom (core) to top (the entry point). */
const ALLOWED: Record<string, string[]> = {
  core: [],
  wire: ['core'],
  zone: ['wire', 'core'],
  cache: ['wire', 'core'],
  client: ['wire', 'core'],
  resolver: ['client', 'wire', 'core'],
  identity: ['wire', 'core'],
  server: ['zone', 'cache', 'resolver', 'identity', 'wire', 'core'],
  secondary: ['server', 'client', 'zone', 'wire', 'core'],
  health: ['core'],
  announce: ['core'],
  fleet: ['core'],
  metrics: ['wire', 'core'],
  config: ['core'],
  drill: ['client', 'core'],
  compose: ['config', 'zone', 'cache', 'resolver', 'identity', 'announce', 'wire', 'core'],
  process: [
    'secondary',
    'compose',
    'config',
    'server',
    'metrics',
    'health',
    'zone',
    'cache',
    'resolver',
    'identity',
    'wire',
    'core',
  ],
  node: [
    'secondary',
    'process',
    'fleet',
    'compose',
    'config',
    'client',
    'server',
    'metrics',
    'health',
    'announce',
    'zone',
    'identity',
    'wire',
    'core',
  ],
  cli: ['node', 'compose', 'config', 'client', 'drill', 'announce', 'wire', 'core'],
  '<root>': ['cli'],
};
/** The only file allowed at src/'s root. */
const ROOT_FILES = ['main.ts'];

const IMPORT = /^(import type|import|export)[^'"]*from '(\.[^']+)'|import\('(\.[^']+)'\)/gm;

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

const folderOf = (rel: string): string => (rel.includes('/') ? (rel.split('/')[0] as string) : '<root>');

/** The rule's breaches in a tree given as path (relative to src/) → source text. */
function violations(tree: ReadonlyMap<string, string>): string[] {
  const bad: string[] = [];
  for (const [rel, text] of tree) {
    const folder = folderOf(rel);
    if (folder === '<root>' && !ROOT_FILES.includes(rel))
      bad.push(`${rel} is at the root of src/ (only ${ROOT_FILES.join(', ')} may be)`);
    if (!(folder in ALLOWED)) bad.push(`${rel}: folder ${folder} is not in the module table`);
    for (const m of text.matchAll(IMPORT)) {
      const spec = (m[2] ?? m[3]) as string;
      const target = relative(SRC, join(SRC, rel, '..', spec));
      const tFolder = folderOf(target);
      if (tFolder === folder) continue;
      const typeOnly = m[1] === 'import type';
      const allowed = [...(ALLOWED[folder] ?? []), ...(typeOnly ? (TYPES_FROM[folder] ?? []) : [])];
      if (!allowed.includes(tFolder)) bad.push(`${rel} imports ${target}`);
      if (tFolder !== '<root>' && !target.endsWith('/index.js'))
        bad.push(`${rel} imports ${target} instead of ${tFolder}/index.js`);
    }
    if (folder !== 'metrics' && /from 'prom-client'/.test(text))
      bad.push(`${rel} imports prom-client (only metrics/ may)`);
  }
  return bad;
}

describe('module boundaries', () => {
  it('every import in src/ follows the module table', () => {
    const tree = new Map(files(SRC).map((f) => [relative(SRC, f), readFileSync(f, 'utf8')]));
    assert.deepEqual(violations(tree), []);
  });
  it('catches a file at the root, an import of it, a dynamic import past an index, and an upward import', () => {
    const tree = new Map([
      ['main.ts', "import { runCli } from './cli/index.js';\n"],
      ['helpers.ts', 'export const x = 1;\n'],
      ['zone/store.ts', "import { x } from '../helpers.js';\n"],
      ['cli/index.ts', "const m = await import('../node/node.js');\n"],
      ['wire/query.ts', "import { Pipeline } from '../server/index.js';\n"],
    ]);
    assert.deepEqual(violations(tree), [
      'helpers.ts is at the root of src/ (only main.ts may be)',
      'zone/store.ts imports helpers.js',
      'cli/index.ts imports node/node.js instead of node/index.js',
      'wire/query.ts imports server/index.js',
    ]);
  });
});
