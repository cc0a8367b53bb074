// Packaging, the way a user gets the program: a copy of this tree as a fresh clone has it (no
// dist/), `npm pack` (prepack builds), `npm install -g --prefix` of the tarball and `make install
// PREFIX=…` (and DESTDIR=…) into temporary folders; then the installed `edgedns --version`, a zone
// check and a served answer, `man -l` of the installed page, the bash completion against the real
// command tree, `systemd-analyze verify` of the units as installed and systemd-sysusers on the
// sysusers.d file in a temporary root.
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import {
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  realpathSync,
  rmSync,
  symlinkSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Command } from 'commander';
import { buildProgram } from '../../src/cli/index.ts';
import { dig } from '../helpers/dig.ts';
import { ROOT } from '../helpers/server.ts';
import { verifyUnits } from '../helpers/systemd.ts';
import { tempDir } from '../helpers/tmp.ts';

const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const tmp = tempDir('edgedns-package-');
const SRC = join(tmp, 'src');
const PREFIX = join(tmp, 'prefix');
const NPM_PREFIX = join(tmp, 'npm-prefix');
const STAGE = join(tmp, 'stage');
let tarball = '';

after(() => rmSync(tmp, { recursive: true, force: true }));

const run = (cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): string =>
  execFileSync(cmd, args, {
    cwd: opts.cwd ?? SRC,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...opts.env },
    maxBuffer: 64 * 1024 * 1024,
  });

/** `man -l` as a reader sees it, and what man-db and groff warn about while rendering. */
function renderMan(page: string): { text: string; warnings: string } {
  const r = spawnSync('man', ['--warnings', '-l', page], {
    encoding: 'utf8',
    env: { ...process.env, MANWIDTH: '80', MAN_KEEP_FORMATTING: '', PAGER: 'cat' },
  });
  assert.equal(r.status, 0, r.stderr);
  const g = spawnSync('groff', ['-man', '-ww', '-z', '-Tutf8', page], { encoding: 'utf8' });
  return { text: r.stdout, warnings: `${r.stderr}${g.stderr}` };
}

/** What the completion offers for the words of a command line (the last one being completed). */
function complete(script: string, words: string[]): string[] {
  const quoted = words.map((w) => `'${w.replaceAll("'", "'\\''")}'`).join(' ');
  const out = run(
    'bash',
    [
      '-c',
      `source '${script}'; COMP_WORDS=(${quoted}); COMP_CWORD=${words.length - 1}; _edgedns; printf '%s\\n' "\${COMPREPLY[@]}"`,
    ],
    { cwd: tmp },
  );
  return out.split('\n').filter((l) => l !== '');
}

/** Every command path of the real program with its subcommands and long options. */
function commandTree(cmd: Command, path: string[] = []): { path: string[]; words: string[] }[] {
  const words = [...cmd.commands.map((c) => c.name()), ...cmd.options.flatMap((o) => (o.long ? [o.long] : []))];
  return [{ path, words }, ...cmd.commands.flatMap((c) => commandTree(c, [...path, c.name()]))];
}

// Nothing here may reinstall the dependencies the copy borrows: npm ci through the link would
// empty this checkout's node_modules and put a folder where the link was (make's node_modules rule
// leaves a link alone, and -o says the same to make).
const MODULES = realpathSync(join(ROOT, 'node_modules'));
const make = (args: string[]): string => {
  const out = run('make', ['--no-print-directory', '-o', 'node_modules/.package-lock.json', ...args]);
  assert.ok(lstatSync(join(SRC, 'node_modules')).isSymbolicLink(), 'the borrowed node_modules is still a link');
  return out;
};

before(() => {
  // A fresh clone: the files git tracks (and new ones not ignored), no dist/, the dependencies
  // this checkout has (a clone gets them from `npm ci`).
  const files = run('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: ROOT }).split('\0');
  for (const f of files) {
    if (f === '' || f === 'node_modules' || !existsSync(join(ROOT, f)) || lstatSync(join(ROOT, f)).isSymbolicLink())
      continue;
    mkdirSync(dirname(join(SRC, f)), { recursive: true });
    copyFileSync(join(ROOT, f), join(SRC, f));
  }
  symlinkSync(MODULES, join(SRC, 'node_modules'));
  assert.ok(!existsSync(join(SRC, 'dist')), 'the copy has no dist/');
});

describe('npm pack', () => {
  it('prepack builds dist/; the tarball has the program, the man page, the completion, the units, LICENSE and CHANGELOG, and no sources or maps', () => {
    const out = join(tmp, 'out');
    mkdirSync(out);
    const name = run('npm', ['pack', '--silent', '--pack-destination', out]).trim().split('\n').at(-1) ?? '';
    assert.equal(name, `edgedns-${VERSION}.tgz`);
    tarball = join(out, name);
    const listing = run('tar', ['-tzf', tarball]).split('\n');
    for (const f of [
      'dist/main.js',
      'dist/process/worker-main.js',
      'deploy/man/edgedns.1',
      'deploy/completion/edgedns.bash',
      'deploy/systemd/edgedns.service',
      'deploy/systemd/edgedns-guard.service',
      'deploy/systemd/edgedns.sysusers',
      'deploy/edgedns.example.yaml',
      'zones/example.test.zone',
      'LICENSE',
      'CHANGELOG.md',
      'README.md',
      'package.json',
    ]) {
      assert.ok(listing.includes(`package/${f}`), `${f} is packed`);
    }
    assert.deepEqual(
      listing.filter((f) => /\.map$|^package\/(src|test|bench)\//.test(f)),
      [],
    );
  });
});

describe('npm install -g --prefix (the npm user)', () => {
  it('installs an edgedns command that prints the version of package.json, and the man page', () => {
    assert.ok(tarball, 'npm pack ran');
    // npm's cache first; the registry only for what it lacks.
    const args = ['install', '-g', '--prefix', NPM_PREFIX, '--no-audit', '--no-fund', '--loglevel=error', tarball];
    const offline = spawnSync('npm', [...args, '--offline'], { encoding: 'utf8' });
    if (offline.status !== 0) run('npm', [...args, '--prefer-offline']);
    assert.equal(run(join(NPM_PREFIX, 'bin', 'edgedns'), ['--version']).trim(), VERSION);
    const man = renderMan(join(NPM_PREFIX, 'share', 'man', 'man1', 'edgedns.1'));
    assert.match(man.text, /^NAME\n\s+edgedns\s+-\s+anycast\s+DNS\s+edge\s+node/m);
  });
});

describe('make install PREFIX=… (a private prefix)', () => {
  before(() => {
    make(['install', `PREFIX=${PREFIX}`, `NODE=${process.execPath}`]);
  });
  const bin = join(PREFIX, 'bin', 'edgedns');

  it("the launcher runs the Node.js that installed it; --version is package.json's; the production dependencies load", () => {
    assert.equal(
      readFileSync(bin, 'utf8'),
      `#!/bin/sh\n# edgedns, installed by make install: this Node.js, this program.\nexec '${process.execPath}' '${PREFIX}/lib/edgedns/dist/main.js' "$@"\n`,
    );
    assert.equal(run(bin, ['--version']).trim(), VERSION);
    // zone check loads the whole program (config, metrics, zone loader and their packages).
    const zone = join(PREFIX, 'lib', 'edgedns', 'zones', 'example.test.zone');
    assert.match(run(bin, ['zone', 'check', zone, 'example.test.']), /zone example\.test\. OK: serial \d+/);
    // Only what runs: no TypeScript, no tsx.
    const deps = readdirSync(join(PREFIX, 'lib', 'edgedns', 'node_modules'));
    assert.ok(deps.includes('commander') && deps.includes('prom-client'), deps.join(' '));
    assert.ok(!deps.includes('typescript') && !deps.includes('tsx'), deps.join(' '));
  });

  it('the installed program serves: dig gets the answer', async () => {
    const zones = join(PREFIX, 'lib', 'edgedns', 'zones');
    const p = spawn(
      bin,
      [
        'serve',
        '--listen',
        '127.0.0.1:0',
        '--zones',
        zones,
        '--authoritative-only',
        '--admin',
        'off',
        '--admin-socket',
        'off',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    try {
      let err = '';
      p.stderr?.setEncoding('utf8');
      const port = await new Promise<number>((resolve, reject) => {
        p.stderr?.on('data', (d: string) => {
          err += d;
          const m = /"msg":"listening".*?"port":(\d+)/.exec(err);
          if (m && err.includes('"msg":"started"')) resolve(Number(m[1]));
        });
        p.once('exit', (code) => reject(new Error(`exited ${code}:\n${err}`)));
      });
      const a = await dig({ host: '127.0.0.1', port }, ['www.example.test', 'A']);
      assert.deepEqual(
        a.answer.map((r) => r.data),
        ['192.0.2.80'],
      );
    } finally {
      const exited = once(p, 'exit');
      p.kill('SIGTERM');
      await exited;
    }
  });

  it('man -l renders edgedns(1) without warnings, and it names every command and the version', () => {
    const page = join(PREFIX, 'share', 'man', 'man1', 'edgedns.1');
    const { text, warnings } = renderMan(page);
    assert.equal(warnings, '');
    for (const section of [
      'NAME',
      'SYNOPSIS',
      'DESCRIPTION',
      'COMMANDS',
      'SIGNALS',
      'EXIT STATUS',
      'ENVIRONMENT',
      'FILES',
      'EXAMPLES',
    ])
      assert.match(text, new RegExp(`^${section}$`, 'm'), section);
    for (const cmd of buildProgram().commands.map((c) => c.name()))
      assert.match(text, new RegExp(`^\\s+edgedns\\s+${cmd}\\b`, 'm'), `SYNOPSIS names ${cmd}`);
    assert.match(
      readFileSync(page, 'utf8'),
      new RegExp(`^\\.TH EDGEDNS 1 \\S+ "edgedns ${VERSION.replaceAll('.', '\\.')}"`, 'm'),
      'the page is of this version',
    );
  });

  it('bash completion offers every command, subcommand and long option of the program', () => {
    const script = join(PREFIX, 'share', 'bash-completion', 'completions', 'edgedns');
    assert.deepEqual(complete(script, ['edgedns', 'zo']), ['zone']);
    assert.deepEqual(complete(script, ['edgedns', 'zone', '']), [
      'print',
      'check',
      'status',
      'refresh',
      '-h',
      '--help',
    ]);
    assert.deepEqual(complete(script, ['edgedns', 'announce', '']).slice(0, 2), ['announce', 'withdraw']);
    for (const { path, words } of commandTree(buildProgram())) {
      const offered = complete(script, ['edgedns', ...path, words.some((w) => !w.startsWith('-')) ? '' : '--']);
      for (const w of words)
        assert.ok(offered.includes(w), `edgedns ${path.join(' ')} offers ${w} (got ${offered.join(' ')})`);
    }
    // A file where the option takes one.
    assert.ok(
      complete(script, ['edgedns', 'serve', '--config', join(PREFIX, 'etc', 'edgedns', 'edgedns.ex')]).includes(
        join(PREFIX, 'etc', 'edgedns', 'edgedns.example.yaml'),
      ),
    );
  });

  it('the units as installed pass systemd-analyze verify, and run the installed program with the config in PREFIX/etc', () => {
    const units = ['edgedns.service', 'edgedns-guard.service'].map((u) => join(PREFIX, 'lib', 'systemd', 'system', u));
    assert.deepEqual(verifyUnits(units, join(PREFIX, 'share', 'man')), ['exit 0']);
    const unit = readFileSync(units[0] as string, 'utf8');
    assert.match(unit, new RegExp(`^ExecStart=${bin} serve --config ${PREFIX}/etc/edgedns/edgedns\\.yaml$`, 'm'));
    assert.doesNotMatch(unit, /[ =]\/usr\/bin\/edgedns|[ =]\/etc\/edgedns\//);
    assert.ok(existsSync(join(PREFIX, 'etc', 'edgedns', 'edgedns.example.yaml')));
    assert.ok(existsSync(join(PREFIX, 'lib', 'sysusers.d', 'edgedns.conf')));
  });

  it('make uninstall removes what install put there', () => {
    make(['uninstall', `PREFIX=${PREFIX}`]);
    const left = run('find', [PREFIX, '-not', '-type', 'd']).trim();
    assert.equal(left, '');
  });
});

describe('make install DESTDIR=… PREFIX=/usr/local (a package build)', () => {
  before(() => {
    make(['install', 'PREFIX=/usr/local', `DESTDIR=${STAGE}`, `NODE=${process.execPath}`]);
  });

  it('files land under DESTDIR and name the final paths; the config goes to /etc', () => {
    const launcher = readFileSync(join(STAGE, 'usr/local/bin/edgedns'), 'utf8');
    assert.match(launcher, /^exec '.+' '\/usr\/local\/lib\/edgedns\/dist\/main\.js' "\$@"$/m);
    const unit = readFileSync(join(STAGE, 'usr/local/lib/systemd/system/edgedns.service'), 'utf8');
    assert.match(unit, /^ExecStart=\/usr\/local\/bin\/edgedns serve --config \/etc\/edgedns\/edgedns\.yaml$/m);
    assert.match(
      unit,
      /^ExecStopPost=\/usr\/local\/bin\/edgedns announce withdraw --config \/etc\/edgedns\/edgedns\.yaml$/m,
    );
    for (const text of [
      launcher,
      unit,
      readFileSync(join(STAGE, 'usr/local/lib/systemd/system/edgedns-guard.service'), 'utf8'),
    ])
      assert.ok(!text.includes(STAGE), 'no staging path in an installed file');
    for (const f of [
      'usr/local/share/man/man1/edgedns.1',
      'usr/local/share/bash-completion/completions/edgedns',
      'usr/local/lib/sysusers.d/edgedns.conf',
      'etc/edgedns/edgedns.example.yaml',
      'usr/local/lib/edgedns/dist/main.js',
    ])
      assert.ok(existsSync(join(STAGE, f)), f);
  });

  it('systemd-sysusers creates the edgedns user and group from the installed file (in the staging root)', () => {
    mkdirSync(join(STAGE, 'etc'), { recursive: true });
    run('systemd-sysusers', [`--root=${STAGE}`]);
    const passwd = readFileSync(join(STAGE, 'etc', 'passwd'), 'utf8');
    assert.match(passwd, /^edgedns:x:\d+:\d+:edgedns anycast DNS edge node:\/nonexistent:\/usr\/sbin\/nologin$/m);
    assert.match(readFileSync(join(STAGE, 'etc', 'group'), 'utf8'), /^edgedns:x:\d+:$/m);
  });
});
