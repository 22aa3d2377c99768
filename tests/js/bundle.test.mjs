// The shipped module as a product: its size once minified (esbuild, pinned
// in package-lock.json) and gzipped stays under the budget; its version is
// the same everywhere it is written; the TypeScript declarations compile
// under --strict, reject misuse, and name exactly what the module exports.
//
// The gzipped size is printed (and written to build/pollbridge-js-size.txt
// when build/ exists) so that the figure can be reported.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import esbuild from 'esbuild';
import ts from 'typescript';
import * as client from '../../clients/js/pollbridge.js';
import { Pollbridge, repoRoot } from './lib/harness.mjs';

// The budget of issue 12: minified and gzipped.
const BUDGET_BYTES = 8 * 1024;

const moduleFile = path.join(repoRoot, 'clients', 'js', 'pollbridge.js');

test(`minified with esbuild and gzipped, the module stays under ${BUDGET_BYTES} bytes`, async (t) => {
  const source = readFileSync(moduleFile);
  const { code } = await esbuild.transform(source.toString(), { minify: true, format: 'esm', target: 'es2020' });
  const minified = Buffer.byteLength(code);
  const gzipped = gzipSync(code, { level: 9 }).length;
  const line = `pollbridge.js ${client.VERSION}: ${source.length} bytes, ${minified} minified (esbuild ${esbuild.version}), ${gzipped} gzipped (budget ${BUDGET_BYTES})`;
  t.diagnostic(line);
  if (existsSync(path.join(repoRoot, 'build'))) writeFileSync(path.join(repoRoot, 'build', 'pollbridge-js-size.txt'), line + '\n');
  assert.ok(gzipped < BUDGET_BYTES, line);
  // The minified module still works: it is the same API.
  const mod = await import('data:text/javascript;base64,' + Buffer.from(code).toString('base64'));
  assert.deepEqual(Object.keys(mod).sort(), Object.keys(client).sort());
  assert.deepEqual(mod.applyPatch({ a: [1] }, [{ op: 'add', path: '/a/0', value: 0 }]), { a: [0, 1] });
});

test('the binary under test serves this very module (rebuild it after editing the module)', async () => {
  const proxy = await new Pollbridge({ streams: [{ name: 's', url: 'http://127.0.0.1:1/unused', interval: '1h' }] }).start();
  try {
    const res = await fetch(`${proxy.baseUrl}/pollbridge.js?v=${client.VERSION}`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('cache-control'), 'public, max-age=31536000, immutable');
    assert.equal(await res.text(), readFileSync(moduleFile, 'utf8'), 'GET /pollbridge.js differs from clients/js/pollbridge.js');
  } finally {
    await proxy.dispose();
  }
});

test('one version everywhere: module, CMake project, package.json, the example page', () => {
  const cmake = readFileSync(path.join(repoRoot, 'CMakeLists.txt'), 'utf8');
  const project = /project\(pollbridge VERSION (\S+)/.exec(cmake)[1];
  assert.equal(client.VERSION, project, 'clients/js/pollbridge.js VERSION vs CMakeLists.txt');
  const pkg = JSON.parse(readFileSync(path.join(repoRoot, 'clients', 'js', 'package.json'), 'utf8'));
  assert.equal(pkg.version, project, 'clients/js/package.json');
  const app = readFileSync(path.join(repoRoot, 'examples', 'web', 'app.js'), 'utf8');
  const imports = [...app.matchAll(/from '(\/pollbridge\.js[^']*)'/g)].map((m) => m[1]);
  assert.deepEqual(imports, [`/pollbridge.js?v=${project}`], 'examples/web/app.js imports the versioned URL');
});

test('the TypeScript declarations compile under --strict and cover every export', () => {
  const usage = path.join(repoRoot, 'tests', 'js', 'types', 'usage.ts');
  const program = ts.createProgram([usage], {
    strict: true,
    noEmit: true,
    target: ts.ScriptTarget.ES2020,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    lib: ['lib.es2020.d.ts', 'lib.dom.d.ts'],
    types: [],
  });
  const diagnostics = ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
  assert.deepEqual(diagnostics, []);
  const checker = program.getTypeChecker();
  const declarations = program.getSourceFile(path.join(repoRoot, 'clients', 'js', 'pollbridge.d.ts'));
  assert.ok(declarations, 'usage.ts resolves to pollbridge.d.ts');
  const declared = checker
    .getExportsOfModule(checker.getSymbolAtLocation(declarations))
    .filter((s) => s.flags & (ts.SymbolFlags.Value | ts.SymbolFlags.Alias))
    .map((s) => s.name);
  assert.deepEqual(declared.sort(), Object.keys(client).sort());
});
