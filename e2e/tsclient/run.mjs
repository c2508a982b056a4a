// End-to-end check of sbx-mcp with the official TypeScript MCP client
// (@modelcontextprotocol/sdk, StdioClientTransport). Run by tsclient_test.go:
//
//   node run.mjs [--require TOOL,TOOL...] -- /path/to/sbx-mcp [server flags...]
//
// Every check prints one line: "ok NAME", "skip NAME: reason" or
// "FAIL NAME: reason". The exit status is 1 when any check failed, 0 otherwise.
// A check whose tool is not registered is skipped unless the tool is listed in
// --require, in which case it fails.

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { AjvJsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/ajv';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const argv = process.argv.slice(2);
const sep = argv.indexOf('--');
if (sep < 0 || sep === argv.length - 1) {
  console.error('usage: node run.mjs [--require a,b] -- /path/to/sbx-mcp [flags...]');
  process.exit(2);
}
const own = argv.slice(0, sep);
const [command, ...serverArgs] = argv.slice(sep + 1);
const required = new Set();
for (let i = 0; i < own.length; i++) {
  if (own[i] === '--require' && i + 1 < own.length) {
    for (const t of own[++i].split(',')) if (t) required.add(t);
  }
}

// A 2x2 red PNG.
const PNG_B64 =
  'iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAEElEQVR4nGP4z8AARAwQCgAf7gP9i18U1AAAAABJRU5ErkJggg==';

let failed = 0;
function ok(name) { console.log(`ok ${name}`); }
function fail(name, why) { failed++; console.log(`FAIL ${name}: ${why}`); }
function skip(name, why) { console.log(`skip ${name}: ${why}`); }
function assert(cond, why) { if (!cond) throw new Error(why); }
function textOf(res) {
  return (res.content || []).filter((c) => c.type === 'text').map((c) => c.text).join('\n');
}

// schemaProblems walks a JSON schema and returns what MCP clients reject:
// $ref/$defs anywhere and boolean subschemas.
function schemaProblems(schema, path = '') {
  const out = [];
  if (typeof schema === 'boolean') {
    out.push(`${path || '/'}: boolean schema`);
    return out;
  }
  if (schema === null || typeof schema !== 'object') return out;
  for (const k of ['$ref', '$defs', 'definitions']) {
    if (k in schema) out.push(`${path || '/'}: has ${k}`);
  }
  for (const k of ['properties', 'patternProperties']) {
    if (schema[k] && typeof schema[k] === 'object') {
      for (const [name, sub] of Object.entries(schema[k])) out.push(...schemaProblems(sub, `${path}/${k}/${name}`));
    }
  }
  for (const k of ['items', 'additionalProperties', 'not', 'contains', 'propertyNames']) {
    if (k in schema && k !== 'additionalProperties') out.push(...schemaProblems(schema[k], `${path}/${k}`));
    // additionalProperties: false is the one boolean that is fine and common.
    if (k === 'additionalProperties' && typeof schema[k] === 'object') out.push(...schemaProblems(schema[k], `${path}/${k}`));
  }
  for (const k of ['anyOf', 'oneOf', 'allOf', 'prefixItems']) {
    if (Array.isArray(schema[k])) schema[k].forEach((s, i) => out.push(...schemaProblems(s, `${path}/${k}/${i}`)));
  }
  return out;
}

const workdir = mkdtempSync(join(tmpdir(), 'sbx-tsclient-'));
const transport = new StdioClientTransport({
  command,
  args: serverArgs.length ? serverArgs : ['--workdir', workdir],
  stderr: 'inherit',
});
const client = new Client({ name: 'sbx-tsclient-e2e', version: '1.0.0' });

let tools = new Map();
async function check(name, needs, fn) {
  const missing = needs.filter((t) => !tools.has(t));
  if (missing.length) {
    if (missing.some((t) => required.has(t))) fail(name, `required tool not registered: ${missing.join(', ')}`);
    else skip(name, `tool not registered: ${missing.join(', ')}`);
    return;
  }
  try {
    await fn();
    ok(name);
  } catch (err) {
    fail(name, err && err.stack ? err.stack : String(err));
  }
}

try {
  await client.connect(transport);
  ok('initialize');
} catch (err) {
  fail('initialize', String(err));
  process.exit(1);
}

try {
  const v = client.getServerVersion();
  assert(v && v.name, 'serverInfo.name missing');
  const instr = client.getInstructions();
  assert(typeof instr === 'string' && instr.length > 0, 'initialize returned no instructions');
  assert(Buffer.byteLength(instr) < 2048, `instructions are ${Buffer.byteLength(instr)} bytes (limit 2048)`);
  ok('server info and instructions');
} catch (err) {
  fail('server info and instructions', String(err));
}

try {
  await client.ping();
  ok('ping');
} catch (err) {
  fail('ping', String(err));
}

// listTools validates the whole result with the SDK's zod schema and compiles
// every outputSchema with ajv; one bad tool fails the list.
try {
  const res = await client.listTools();
  const ajv = new AjvJsonSchemaValidator();
  const problems = [];
  for (const t of res.tools) {
    tools.set(t.name, t);
    if (!t.inputSchema || t.inputSchema.type !== 'object') problems.push(`${t.name}: inputSchema root is not type object`);
    for (const p of schemaProblems(t.inputSchema)) problems.push(`${t.name} inputSchema ${p}`);
    if (t.outputSchema) for (const p of schemaProblems(t.outputSchema)) problems.push(`${t.name} outputSchema ${p}`);
    try {
      ajv.getValidator(t.inputSchema);
    } catch (err) {
      problems.push(`${t.name}: inputSchema does not compile: ${err.message}`);
    }
    if (!t.description) problems.push(`${t.name}: no description`);
  }
  assert(problems.length === 0, problems.join('; '));
  ok(`tools/list (${res.tools.length} tools: ${[...tools.keys()].join(' ')})`);
} catch (err) {
  fail('tools/list', err && err.stack ? err.stack : String(err));
}

await check('exec', ['exec'], async () => {
  const res = await client.callTool({
    name: 'exec',
    arguments: { command: 'echo hello; echo oops >&2; exit 3' },
  });
  assert(!res.isError, `isError: ${textOf(res)}`);
  const s = res.structuredContent;
  assert(s, 'no structuredContent');
  assert(s.stdout === 'hello\n', `stdout ${JSON.stringify(s.stdout)}`);
  assert(s.stderr === 'oops\n', `stderr ${JSON.stringify(s.stderr)}`);
  assert(s.exit_code === 3, `exit_code ${s.exit_code}`);
  assert(s.success === false, `success ${s.success}`);
  assert(textOf(res).includes('hello'), 'text block lacks stdout');

  const st = await client.callTool({ name: 'exec', arguments: { command: 'cd /tmp && export SBX_E2E=kept' } });
  assert(!st.isError, `isError: ${textOf(st)}`);
  const st2 = await client.callTool({ name: 'exec', arguments: { command: 'echo "$PWD $SBX_E2E"' } });
  assert(st2.structuredContent.stdout === '/tmp kept\n', `session state lost: ${JSON.stringify(st2.structuredContent.stdout)}`);

  const bad = await client.callTool({ name: 'exec', arguments: { command: 'true', session: 'no-such-session-e2e' } });
  assert(bad.isError === true, 'unknown session is not an isError result');
  assert(textOf(bad).length > 0, 'isError result without text');
});

await check('exec_stream with progress', ['exec_stream'], async () => {
  const events = [];
  const res = await client.callTool(
    {
      name: 'exec_stream',
      arguments: { command: 'for i in 1 2 3 4 5; do echo line$i; sleep 0.05; done; echo err >&2' },
    },
    undefined,
    { onprogress: (p) => events.push(p), resetTimeoutOnProgress: true },
  );
  assert(!res.isError, `isError: ${textOf(res)}`);
  const s = res.structuredContent;
  assert(s && s.stdout === 'line1\nline2\nline3\nline4\nline5\n', `stdout ${JSON.stringify(s && s.stdout)}`);
  assert(s.exit_code === 0, `exit_code ${s.exit_code}`);
  // The client may drop a notification that races the response, so demand
  // only that the stream started and that progress grew strictly.
  assert(events.length >= 1, 'no progress notifications');
  for (let i = 1; i < events.length; i++) {
    assert(events[i].progress > events[i - 1].progress, `progress not increasing: ${events[i - 1].progress} then ${events[i].progress}`);
  }
  const streamed = events.map((e) => e.message || '').join('');
  assert(streamed.startsWith('line1\n'), `streamed text ${JSON.stringify(streamed)}`);
});

await check('read_file of an image', ['read_file'], async () => {
  const path = 'e2e-red.png';
  if (tools.has('write_file')) {
    const w = await client.callTool({ name: 'write_file', arguments: { path, content: PNG_B64, encoding: 'base64' } });
    assert(!w.isError, `write_file isError: ${textOf(w)}`);
  } else if (tools.has('exec')) {
    const w = await client.callTool({ name: 'exec', arguments: { command: `printf %s '${PNG_B64}' | base64 -d > ${path}` } });
    assert(!w.isError && w.structuredContent.exit_code === 0, `exec isError: ${textOf(w)}`);
  } else {
    throw new Error('neither write_file nor exec is registered to create the image');
  }
  const res = await client.callTool({ name: 'read_file', arguments: { path } });
  assert(!res.isError, `isError: ${textOf(res)}`);
  const img = (res.content || []).find((c) => c.type === 'image');
  assert(img, `no image block in ${JSON.stringify(res.content.map((c) => c.type))}`);
  assert(img.mimeType === 'image/png', `mimeType ${img.mimeType}`);
  assert(img.data === PNG_B64, 'image data differs from the file');
  const s = res.structuredContent;
  assert(s && s.mime_type === 'image/png', `mime_type ${s && s.mime_type}`);
  assert(s.is_binary === true, `is_binary ${s.is_binary}`);
  assert(s.size === Buffer.from(PNG_B64, 'base64').length, `size ${s.size}`);
});

await check('run_code 1+1', ['run_code'], async () => {
  const res = await client.callTool({ name: 'run_code', arguments: { code: 'x = 20\n1+1' } });
  assert(!res.isError, `isError: ${textOf(res)}`);
  const s = res.structuredContent;
  const main = (s.results || []).find((r) => r.is_main_result);
  assert(main && main.text === '2', `main result ${JSON.stringify(s.results)}`);
  const again = await client.callTool({ name: 'run_code', arguments: { code: 'x * 2' } });
  const m2 = (again.structuredContent.results || []).find((r) => r.is_main_result);
  assert(m2 && m2.text === '40', `state not kept: ${JSON.stringify(again.structuredContent)}`);
  const err = await client.callTool({ name: 'run_code', arguments: { code: '1/0' } });
  assert(!err.isError, 'an exception in user code must be data, not isError');
  assert(err.structuredContent.error && err.structuredContent.error.name === 'ZeroDivisionError', `error ${JSON.stringify(err.structuredContent.error)}`);
});

await check('run_code with a plot', ['run_code'], async () => {
  const events = [];
  const res = await client.callTool(
    {
      name: 'run_code',
      arguments: {
        code: 'import matplotlib.pyplot as plt\nprint("plotting")\nplt.plot([1, 2, 3], [4, 1, 9])\nplt.title("e2e")\nplt.show()',
        timeout_ms: 60000,
      },
    },
    undefined,
    { onprogress: (p) => events.push(p), resetTimeoutOnProgress: true, timeout: 120000 },
  );
  assert(!res.isError, `isError: ${textOf(res)}`);
  const s = res.structuredContent;
  assert(!s.error, `error ${JSON.stringify(s.error)}`);
  assert((s.stdout || '').includes('plotting'), `stdout ${JSON.stringify(s.stdout)}`);
  // A result's png is either the base64 itself or "image:N", a reference to
  // the N-th image block (run_code's way to avoid sending the bytes twice).
  const images = (res.content || []).filter((c) => c.type === 'image');
  const withPng = (s.results || []).filter((r) => typeof r.png === 'string');
  assert(withPng.length > 0, `no png in results: ${JSON.stringify(s).slice(0, 1000)}`);
  const ref = /^image:(\d+)$/.exec(withPng[0].png);
  const img = ref ? images[Number(ref[1])] : images.find((c) => c.data === withPng[0].png);
  assert(img, `png ${withPng[0].png.slice(0, 40)} has no matching image block (${images.length} image blocks)`);
  assert(img.mimeType === 'image/png', `image block mimeType ${img.mimeType}`);
  const bytes = Buffer.from(img.data, 'base64');
  assert(bytes.subarray(1, 4).toString() === 'PNG', 'image block is not a PNG');
});

await check('run_code javascript', ['run_code'], async () => {
  const res = await client.callTool({ name: 'run_code', arguments: { code: 'const a = 6; a * 7', language: 'javascript' } });
  assert(!res.isError, `isError: ${textOf(res)}`);
  const main = (res.structuredContent.results || []).find((r) => r.is_main_result);
  assert(main && main.text === '42', `main result ${JSON.stringify(res.structuredContent)}`);
});

await client.close();
rmSync(workdir, { recursive: true, force: true });
process.exit(failed ? 1 : 0);
