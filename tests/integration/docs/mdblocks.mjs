// mdblocks: the fenced code blocks of a Markdown file and what each is for (its mode), and the
// helpers that turn a documented command into one that runs here (free ports, the build dir).
//
// The convention (README.md of this folder): the info string is `LANG MODE`.
//   sh:     dry-run | server | run | flags | illustration
//   python: run | compile | illustration
//   js:     run | illustration
//   text:   output (the stdout of the `run` block before it); any other text block is prose
// A block of a checked language without a known mode is an error, so that every new command in
// the docs is either checked or explicitly an illustration.

import fs from 'node:fs';
import path from 'node:path';

/** Languages whose blocks must carry a mode, and the modes each accepts. */
export const MODES = {
  sh: ['dry-run', 'server', 'run', 'flags', 'illustration'],
  python: ['run', 'compile', 'illustration'],
  js: ['run', 'illustration'],
};
/** Aliases of the checked languages. */
const ALIASES = { bash: 'sh', shell: 'sh', console: 'sh', py: 'python', javascript: 'js', mjs: 'js' };

/**
 * Reads file and returns its fenced blocks in order: {file, line (1-based, of the fence),
 * lang, mode, text, error}. `error` says why a block's info string is not acceptable.
 */
export function blocksOf(file) {
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  const out = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,})\s*([^`]*)$/.exec(lines[i]);
    if (!open) continue;
    const [, indent, fence, info] = open;
    const body = [];
    let j = i + 1;
    for (; j < lines.length; j++) {
      if (new RegExp(`^\\s*${fence}\\s*$`).test(lines[j])) break;
      body.push(lines[j].startsWith(indent) ? lines[j].slice(indent.length) : lines[j]);
    }
    const words = info.trim().split(/\s+/).filter(Boolean);
    const lang = ALIASES[words[0]] ?? words[0] ?? '';
    const mode = words[1] ?? '';
    let error = null;
    if (MODES[lang] && !MODES[lang].includes(mode)) {
      error = `${file}:${i + 1}: a \`${words[0]}\` block needs a mode (${MODES[lang].join(', ')}), got "${mode}"`;
    }
    const command = /^\s*(\$ )?(build\/bin\/\S+|bench\/\S+\.(sh|mjs)|make [a-z]|siocli |siobroker |docker(-compose)? |helm |kubectl |python3? |node )/;
    if (!lang && body.some((l) => command.test(l))) {
      error = `${file}:${i + 1}: a block of commands without a language: write \`\`\`sh MODE`;
    }
    out.push({ file, line: i + 1, lang, mode, text: body.join('\n'), error });
    i = j;
  }
  return out;
}

/**
 * The commands of a shell block: comments (" # ..." and whole-line) dropped, continuation lines
 * joined, blank lines skipped.
 */
export function commandsOf(text) {
  const joined = text.replace(/\\\n\s*/g, ' ');
  const out = [];
  for (const raw of joined.split('\n')) {
    const line = stripComment(raw).trim();
    if (line) out.push(line);
  }
  return out;
}

/** Drops a shell comment (a # at the start or after a blank, outside quotes). */
function stripComment(line) {
  let q = null;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (q) {
      if (c === q) q = null;
    } else if (c === "'" || c === '"') {
      q = c;
    } else if (c === '#' && (i === 0 || /\s/.test(line[i - 1]))) {
      return line.slice(0, i);
    }
  }
  return line;
}

/** Splits a command line into words, shell-like (quotes removed; no expansion). */
export function words(line) {
  const out = [];
  let cur = '';
  let q = null;
  let any = false;
  for (const c of line) {
    if (q) {
      if (c === q) q = null;
      else cur += c;
    } else if (c === "'" || c === '"') {
      q = c;
      any = true;
    } else if (/\s/.test(c)) {
      if (cur || any) out.push(cur);
      cur = '';
      any = false;
    } else {
      cur += c;
    }
  }
  if (cur || any) out.push(cur);
  return out;
}

/** Splits a command line at ;, && and | (outside quotes) into simple commands. */
export function simpleCommands(line) {
  const out = [];
  let cur = '';
  let q = null;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (q) {
      if (c === q) q = null;
      cur += c;
      continue;
    }
    if (c === "'" || c === '"') q = c;
    if (c === ';' || c === '|') {
      out.push(cur);
      cur = '';
      if (line[i + 1] === '|') i++;
      continue;
    }
    if (c === '&' && line[i + 1] === '&') {
      out.push(cur);
      cur = '';
      i++;
      continue;
    }
    cur += c;
  }
  out.push(cur);
  return out.map((s) => s.trim()).filter(Boolean);
}

/**
 * Maps the ports a document names (127.0.0.1:P, localhost:P, --port P) to free ports of this
 * machine, the same one for the same documented port within a document.
 */
export class PortMap {
  constructor(freePort) {
    this.freePort = freePort;
    this.map = new Map();
  }

  /** Allocates a free port for every documented port of text. */
  async learn(text) {
    const re = /(?:127\.0\.0\.1|localhost):(\d{2,5})\b|--port[ =](\d{2,5})\b/g;
    for (const m of text.matchAll(re)) {
      const p = Number(m[1] ?? m[2]);
      if (!this.map.has(p)) this.map.set(p, await this.freePort());
    }
  }

  /** text with every documented port replaced by its free port. */
  rewrite(text) {
    return text
      .replace(/(127\.0\.0\.1|localhost):(\d{2,5})\b/g, (s, host, p) => (this.map.has(Number(p)) ? `${host}:${this.map.get(Number(p))}` : s))
      .replace(/--port([ =])(\d{2,5})\b/g, (s, sep, p) => (this.map.has(Number(p)) ? `--port${sep}${this.map.get(Number(p))}` : s));
  }
}

/** The relative links of a Markdown file: [{target, line}] (no URLs, no pure anchors). */
export function linksOf(file) {
  const out = [];
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  let inFence = false;
  lines.forEach((l, i) => {
    if (/^\s*```/.test(l)) inFence = !inFence;
    if (inFence) return;
    for (const m of l.matchAll(/\]\(([^)\s]+)\)/g)) {
      const t = m[1];
      if (/^[a-z]+:/i.test(t) || t.startsWith('#')) continue;
      out.push({ target: t.split('#')[0], line: i + 1 });
    }
  });
  return out;
}

/** Every Markdown file of the source tree (no node_modules, build trees or dot directories). */
export function markdownFiles(root) {
  const out = [];
  const walk = (dir) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      if (e.name.startsWith('.') || e.name === 'node_modules' || /^build/.test(e.name)) continue;
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.md')) out.push(path.relative(root, p));
    }
  };
  walk(root);
  return out.sort();
}
