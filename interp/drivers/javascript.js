// sbx-mcp javascript driver: one long-lived node process = one code context.
// Protocol (see interp/doc.go): newline-delimited JSON requests on fd 3,
// responses on fd 4; after each cell the end marker (env SBX_INTERP_MARK) is
// written to stdout and stderr. Cells run in this process's main context
// (no cross-realm surprises with node's own objects); the driver keeps its
// state inside this closure.
(function () {
  'use strict';
  const fs = require('fs');
  const vm = require('vm');
  const net = require('net');
  const path = require('path');
  const util = require('util');
  const Module = require('module');
  const stringify = JSON.stringify;
  const parse = JSON.parse;

  const MARK = process.env.SBX_INTERP_MARK || '';
  delete process.env.SBX_INTERP_MARK;
  // The server starts the driver non-dumpable (isolation.Spec.NonDumpable)
  // through the dynamic loader, in "/": /proc/self/exe is the loader, so
  // execPath comes from argv[0] (node's own path), and the driver changes
  // to the context's directory before anything resolves a path.
  if (path.isAbsolute(process.argv0)) process.execPath = process.argv[0] = process.argv0;
  if (process.env.SBX_INTERP_CWD) process.chdir(process.env.SBX_INTERP_CWD);
  delete process.env.SBX_INTERP_CWD;

  globalThis.require = Module.createRequire(path.join(process.cwd(), '[cell]'));
  globalThis.module = { exports: {} };
  globalThis.exports = globalThis.module.exports;
  globalThis.__dirname = process.cwd();
  globalThis.__filename = path.join(process.cwd(), '[cell]');

  function send(msg) {
    const b = Buffer.from(stringify(msg) + '\n');
    let off = 0;
    while (off < b.length) {
      try {
        off += fs.writeSync(4, b, off);
      } catch (e) {
        if (e.code !== 'EAGAIN') throw e;
      }
    }
  }

  // ---- a small tokenizer: enough to find top-level statements -------------

  const REGEX_AFTER = new Set(['return', 'typeof', 'instanceof', 'in', 'of', 'new', 'delete', 'void', 'throw', 'case', 'do', 'else', 'yield', 'await']);
  const PUNCT = /^(>>>=|\.\.\.|===|!==|\*\*=|<<=|>>=|>>>|\?\?=|&&=|\|\|=|=>|==|!=|<=|>=|&&|\|\||\?\?|\?\.|\+\+|--|\+=|-=|\*=|\/=|%=|&=|\|=|\^=|\*\*|<<|>>|[\s\S])/;

  function regexAllowed(prev) {
    if (!prev) return true;
    if (prev.type === 'name') return REGEX_AFTER.has(prev.value);
    if (prev.type !== 'punct') return false;
    return ![')', ']', '}', '++', '--'].includes(prev.value);
  }

  // tokenize scans src from i; with nested set it stops after the '}' that
  // closes a template substitution. Returns {toks, end}.
  function tokenize(src, i, nested) {
    const toks = [];
    const n = src.length;
    let nl = false;
    let depth = 0;
    while (i < n) {
      const c = src[i];
      if (c === '\n' || c === '\r' || c === '\u2028' || c === '\u2029') { nl = true; i++; continue; }
      if (c === ' ' || c === '\t' || c === '\f' || c === '\v' || c === '\ufeff' || c === '\u00a0') { i++; continue; }
      if (c === '/' && src[i + 1] === '/') { while (i < n && src[i] !== '\n') i++; continue; }
      if (c === '/' && src[i + 1] === '*') {
        const e = src.indexOf('*/', i + 2);
        const end = e < 0 ? n : e + 2;
        if (src.slice(i, end).includes('\n')) nl = true;
        i = end;
        continue;
      }
      const start = i;
      let type = 'punct';
      if (c === '"' || c === "'") {
        i++;
        while (i < n && src[i] !== c && src[i] !== '\n') { if (src[i] === '\\') i++; i++; }
        i++;
        type = 'str';
      } else if (c === '`') {
        i = skipTemplate(src, i + 1);
        type = 'tmpl';
      } else if (/[A-Za-z_$\\]/.test(c) || c > '\u007f') {
        i++;
        while (i < n && (/[\w$\\]/.test(src[i]) || src[i] > '\u007f')) i++;
        type = 'name';
      } else if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(src[i + 1] || ''))) {
        i++;
        while (i < n && /[\w.]/.test(src[i])) i++;
        type = 'num';
      } else if (c === '/' && regexAllowed(toks[toks.length - 1])) {
        i = skipRegex(src, i + 1);
        type = 'regex';
      } else {
        const m = PUNCT.exec(src.slice(i, i + 4));
        if (nested) {
          if (m[0] === '{') depth++;
          if (m[0] === '}' && depth-- === 0) return { toks, end: i + 1 };
        }
        i += m[0].length;
      }
      toks.push({ type, value: src.slice(start, i), start, end: i, nl });
      nl = false;
    }
    return { toks, end: n };
  }

  function skipTemplate(src, i) {
    while (i < src.length) {
      const c = src[i];
      if (c === '\\') { i += 2; continue; }
      if (c === '`') return i + 1;
      if (c === '$' && src[i + 1] === '{') { i = tokenize(src, i + 2, true).end; continue; }
      i++;
    }
    return i;
  }

  function skipRegex(src, i) {
    let cls = false;
    while (i < src.length) {
      const c = src[i];
      if (c === '\\') { i += 2; continue; }
      if (c === '\n') return i;
      if (c === '[') cls = true;
      else if (c === ']') cls = false;
      else if (c === '/' && !cls) { i++; break; }
      i++;
    }
    while (i < src.length && /[\w$]/.test(src[i])) i++;
    return i;
  }

  const NO_END = new Set(['else', 'do', 'typeof', 'instanceof', 'in', 'of', 'new', 'delete', 'void', 'await', 'case', 'extends',
    'var', 'let', 'const', 'class', 'function', 'if', 'for', 'while', 'switch', 'try', 'catch', 'finally', 'with', 'export', 'import', 'async', 'yield']);
  const BLOCKY = new Set(['function', 'class', 'if', 'for', 'while', 'switch', 'try', '{', 'do', 'async']);
  const CONTINUES = new Set(['else', 'catch', 'finally', 'in', 'instanceof', 'of']);

  // statements splits tokens into top-level statements [start, end).
  function statements(toks) {
    const out = [];
    const stack = [];
    let depth = 0;
    let s = 0;
    for (let k = 0; k < toks.length; k++) {
      const t = toks[k];
      if (depth === 0 && k > s) {
        const prev = toks[k - 1];
        const first = toks[s].value;
        let boundary = false;
        if (prev.value === '}' && prev.type === 'punct' && BLOCKY.has(first) && !(first === 'async' && toks[s + 1] && toks[s + 1].value !== 'function') &&
            !CONTINUES.has(t.value) && !(first === 'do' && t.value === 'while') && t.nl) {
          boundary = true;
        } else if (prev.value === '}' && prev.type === 'punct' && (first === 'function' || first === 'class' || first === '{' || first === 'if' || first === 'for' || first === 'while' || first === 'switch' || first === 'try') &&
            !CONTINUES.has(t.value) && t.value !== '.' && t.value !== '(' && t.value !== '[' && !(t.type === 'punct' && /^[=+\-*%<>&|^?,:]/.test(t.value))) {
          boundary = true;
        } else if (t.nl) {
          const ends = (prev.type === 'name' && !NO_END.has(prev.value)) || prev.type === 'num' || prev.type === 'str' || prev.type === 'tmpl' || prev.type === 'regex' ||
            (prev.type === 'punct' && ((prev.value === ')' && !prev.head) || prev.value === ']' || prev.value === '}' || prev.value === '++' || prev.value === '--'));
          let cont;
          if (t.type === 'tmpl') cont = true;
          else if (t.type === 'punct') cont = !['{', '!', '~', '++', '--'].includes(t.value);
          else if (t.type === 'name') cont = CONTINUES.has(t.value) || (first === 'do' && t.value === 'while');
          else cont = false;
          boundary = ends && !cont;
        }
        if (boundary) { out.push([s, k]); s = k; }
      }
      if (t.type === 'punct') {
        if (t.value === '(' || t.value === '[' || t.value === '{') {
          stack.push(toks[k - 1] ? toks[k - 1].value : '');
          depth++;
        } else if (t.value === ')' || t.value === ']' || t.value === '}') {
          const before = stack.pop();
          depth = Math.max(0, depth - 1);
          if (t.value === ')' && ['if', 'for', 'while', 'with'].includes(before)) t.head = true;
        } else if (t.value === ';' && depth === 0) {
          out.push([s, k + 1]);
          s = k + 1;
        }
      }
    }
    if (s < toks.length) out.push([s, toks.length]);
    return out;
  }

  // matching returns the index of the token closing the bracket at k.
  function matching(toks, k, end) {
    let d = 0;
    for (; k < end; k++) {
      const v = toks[k].type === 'punct' ? toks[k].value : '';
      if (v === '(' || v === '[' || v === '{') d++;
      else if ((v === ')' || v === ']' || v === '}') && --d === 0) return k;
    }
    return end - 1;
  }

  // patternNames collects the names bound by a destructuring pattern.
  function patternNames(toks, k, end, names) {
    const close = matching(toks, k, end);
    const obj = toks[k].value === '{';
    let j = k + 1;
    while (j < close) {
      // one element, up to ',' at this level
      let elemEnd = j;
      let d = 0;
      for (; elemEnd < close; elemEnd++) {
        const v = toks[elemEnd].type === 'punct' ? toks[elemEnd].value : '';
        if (v === '(' || v === '[' || v === '{') d++;
        else if (v === ')' || v === ']' || v === '}') d--;
        else if (v === ',' && d === 0) break;
      }
      let p = j;
      if (toks[p] && toks[p].value === '...') p++;
      if (obj && p < elemEnd) {
        // key: target | [computed]: target | name [= default]
        let q = p;
        if (toks[q].value === '[') q = matching(toks, q, elemEnd) + 1;
        else q++;
        if (q < elemEnd && toks[q].value === ':') p = q + 1;
      }
      if (p < elemEnd) bindingTarget(toks, p, elemEnd, names);
      j = elemEnd + 1;
    }
    return close;
  }

  function bindingTarget(toks, p, end, names) {
    const t = toks[p];
    if (t.value === '[' || t.value === '{') return patternNames(toks, p, end, names) + 1;
    if (t.type === 'name') names.push(t.value);
    return p + 1;
  }

  function isDecl(toks, s) {
    const t = toks[s];
    if (t.value === 'const' || t.value === 'var') return true;
    if (t.value === 'let') {
      const nx = toks[s + 1];
      return !!nx && (nx.type === 'name' || nx.value === '[' || nx.value === '{');
    }
    return false;
  }

  const LONG = new Set(['while', 'for', 'do', 'new', 'import', 'await', 'yield', 'eval']);

  const NOT_EXPR = new Set(['var', 'let', 'const', 'class', 'function', 'if', 'for', 'while', 'do', 'switch', 'try', 'throw', 'return',
    'break', 'continue', 'import', 'export', '{', ';', 'debugger', 'with']);

  function applyEdits(src, edits) {
    edits.sort((a, b) => b.pos - a.pos || b.order - a.order);
    for (const e of edits) src = src.slice(0, e.pos) + e.text + src.slice(e.pos + (e.del || 0));
    return src;
  }

  // transform returns the plain rewrite (top-level const/let/class become
  // var so they persist and may be re-declared by a later cell) and a
  // function building the top-level-await rewrite (an async IIFE whose
  // declarations become assignments to hoisted globals and whose last
  // expression statement is returned).
  function transform(src) {
    const toks = tokenize(src, 0, false).toks;
    const stmts = statements(toks);
    const edits = [];
    let lastIsDecl = false;
    for (const [s, e] of stmts) {
      const t = toks[s];
      lastIsDecl = false;
      if (isDecl(toks, s)) {
        lastIsDecl = true;
        if (t.value !== 'var') edits.push({ pos: t.start, del: t.value.length, text: t.value === 'const' ? 'var  ' : 'var' });
      } else if (t.value === 'class' && toks[s + 1] && toks[s + 1].type === 'name') {
        lastIsDecl = true;
        edits.push({ pos: t.start, text: 'var ' + toks[s + 1].value + ' = ' });
        if (toks[e - 1].value === '}') edits.push({ pos: toks[e - 1].end, text: ';' });
      } else if (t.value === 'function' || (t.value === 'async' && toks[s + 1] && toks[s + 1].value === 'function' && !toks[s + 1].nl)) {
        lastIsDecl = true;
      }
    }
    const plain = applyEdits(src, edits);

    function tla() {
      const names = [];
      const ed = [];
      let prefix = '';
      let order = 0;
      stmts.forEach(([s, e], idx) => {
        const t = toks[s];
        const last = idx === stmts.length - 1;
        const semi = toks[e - 1].value === ';' && toks[e - 1].type === 'punct';
        const closeAt = semi ? toks[e - 1].start : toks[e - 1].end;
        if (isDecl(toks, s)) {
          ed.push({ pos: t.start, del: t.value.length, text: ';(', order: order++ });
          let j = s + 1;
          const stop = semi ? e - 1 : e;
          while (j < stop) {
            const before = names.length;
            const after = bindingTarget(toks, j, stop, names);
            if (after >= stop || toks[after].value !== '=') {
              if (t.value !== 'var') {
                const at = toks[after - 1].end;
                ed.push({ pos: at, text: ' = undefined', order: order++ });
              } else if (names.length === before + 1) {
                // `var x` keeps x: the expression `x` is harmless
              }
            }
            // skip the initializer up to ',' at this level
            let d = 0;
            j = after;
            for (; j < stop; j++) {
              const v = toks[j].type === 'punct' ? toks[j].value : '';
              if (v === '(' || v === '[' || v === '{') d++;
              else if (v === ')' || v === ']' || v === '}') d--;
              else if (v === ',' && d === 0) break;
            }
            j++;
          }
          ed.push({ pos: closeAt, text: ');', order: order++ });
        } else if (t.value === 'class' && toks[s + 1] && toks[s + 1].type === 'name') {
          names.push(toks[s + 1].value);
          ed.push({ pos: t.start, text: ';' + toks[s + 1].value + ' = ', order: order++ });
          ed.push({ pos: toks[e - 1].end, text: ';', order: order++ });
        } else if (t.value === 'function' || (t.value === 'async' && toks[s + 1] && toks[s + 1].value === 'function')) {
          let k = t.value === 'async' ? s + 2 : s + 1;
          if (toks[k] && toks[k].value === '*') k++;
          if (toks[k] && toks[k].type === 'name') prefix += 'globalThis[' + stringify(toks[k].value) + '] = ' + toks[k].value + ';';
        } else if (last && !NOT_EXPR.has(t.value) && !(t.type === 'name' && toks[s + 1] && toks[s + 1].value === ':')) {
          ed.push({ pos: t.start, text: 'return (', order: order++ });
          ed.push({ pos: closeAt, text: ')', order: order++ });
        }
      });
      const head = (names.length ? 'var ' + [...new Set(names)].join(', ') + '; ' : '') + '(async () => {' + prefix;
      return head + applyEdits(src, ed) + '\n})()';
    }
    // breakOnSigint starts and stops a watchdog thread (~0.2 ms per cell):
    // skip it for cells that cannot run long on their own (no calls, loops,
    // templates or `new`). A getter or valueOf defined earlier that loops
    // is then stopped by the server's grace kill instead (state lost).
    const quick = toks.every((tk) => tk.type !== 'tmpl' && !(tk.type === 'punct' && tk.value === '(') &&
      !(tk.type === 'name' && LONG.has(tk.value)));
    return { plain, tla, lastIsDecl, quick, hasAwait: toks.some((t) => t.value === 'await' && t.type === 'name') };
  }

  // ---- running cells ------------------------------------------------------

  let count = 0;
  let onInterrupt = null; // set while a cell awaits a promise

  class Interrupted extends Error {}
  Object.defineProperty(Interrupted.prototype, 'name', { value: 'Interrupted' });

  process.on('SIGINT', () => {
    if (onInterrupt) onInterrupt();
  });
  process.on('unhandledRejection', (err) => {
    process.stderr.write('Uncaught (in promise) ' + (err && err.stack ? err.stack : util.inspect(err)) + '\n');
  });
  process.on('uncaughtException', (err) => {
    process.stderr.write('Uncaught ' + (err && err.stack ? err.stack : util.inspect(err)) + '\n');
  });

  function isThenable(v) {
    return v !== null && (typeof v === 'object' || typeof v === 'function') && typeof v.then === 'function';
  }

  function awaitInterruptible(p) {
    return new Promise((resolve, reject) => {
      onInterrupt = () => reject(new Interrupted('Script execution was interrupted by SIGINT'));
      Promise.resolve(p).then(resolve, reject);
    }).finally(() => { onInterrupt = null; });
  }

  function errorOf(e) {
    if (!(e instanceof Error) && !(e && typeof e === 'object' && 'stack' in e && 'message' in e)) {
      return { name: 'Uncaught', value: util.inspect(e), traceback: 'Uncaught ' + util.inspect(e) };
    }
    let name = e.name || 'Error';
    let value = String(e.message);
    if (/interrupted by `?SIGINT`?/.test(value)) {
      name = 'Interrupted';
      value = 'Script execution was interrupted by SIGINT';
    }
    const lines = String(e.stack || name + ': ' + value).split('\n');
    const keep = lines.filter((l) => !/^\s+at /.test(l) || /<cell-\d+>/.test(l));
    return { name, value, traceback: keep.join('\n').replace(/\n+$/, '') };
  }

  async function runCell(req) {
    count++;
    const filename = '<cell-' + count + '>';
    const results = [];
    let error = null;
    try {
      const code = String(req.code || '');
      const t = transform(code);
      let script;
      let tla = false;
      try {
        script = new vm.Script(t.plain, { filename });
      } catch (e) {
        if (!(e instanceof SyntaxError) || !t.hasAwait) throw e;
        script = new vm.Script(t.tla(), { filename });
        tla = true;
      }
      let value = script.runInThisContext({ breakOnSigint: !t.quick, displayErrors: false });
      if (tla || isThenable(value)) value = await awaitInterruptible(value);
      if (!tla && t.lastIsDecl) value = undefined;
      if (value !== undefined) {
        globalThis._ = value;
        results.push({ text: typeof value === 'string' ? util.inspect(value) : util.inspect(value, { depth: 4, maxArrayLength: 200 }), is_main_result: true });
      }
    } catch (e) {
      error = errorOf(e);
    }
    // The streams keep order; the server waits for both markers after the
    // response, so there is no need to wait for the writes here.
    process.stdout.write(MARK);
    process.stderr.write(MARK);
    send({ id: req.id, results, error, execution_count: count });
  }

  // Requests: one JSON object per line on fd 3, run one at a time.
  const queue = [];
  let running = false;
  async function pump() {
    if (running) return;
    running = true;
    while (queue.length) await runCell(queue.shift());
    running = false;
  }
  const input = new net.Socket({ fd: 3, readable: true, writable: false });
  let buf = '';
  input.setEncoding('utf8');
  input.on('data', (chunk) => {
    buf += chunk;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      try {
        queue.push(parse(line));
      } catch (e) {
        continue;
      }
    }
    pump();
  });
  input.on('end', () => process.exit(0));
  input.on('error', () => process.exit(0));
  send({ ready: true, pid: process.pid });
})();
