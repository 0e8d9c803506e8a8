// lib/loader.js: handler names, package types and module resolution as the AWS Node runtime does
// them. Modules are written into fresh temporary directories.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { loadHandler, splitHandler, packageTypeIsModule } = require('../../bindings/node/lib/loader');

/** A fresh directory holding `files` ({relative path: content}); removed after the test. */
function tree(t, files) {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'lamella-loader-'));
  t.after(() => fs.rmSync(root, { recursive: true, force: true }));
  for (const [rel, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    fs.writeFileSync(path.join(root, rel), content);
  }
  return root;
}

/** Modules that answer which file ran and whether as an ES module (no `require` there). */
const answerBody = (tag) =>
  `() => ({ file: ${JSON.stringify(tag)}, esm: typeof require === 'undefined' })`;
const cjs = (tag) => `exports.handler = ${answerBody(tag)};\n`;
const esm = (tag) => `export const handler = ${answerBody(tag)};\n`;

async function answer(root, handlerName) {
  return (await loadHandler(root, handlerName))();
}

test('splitHandler splits at the last slash, then at the first dot', () => {
  assert.deepEqual(splitHandler('index.handler'), ['', 'index', 'handler']);
  assert.deepEqual(splitHandler('src/api/app.routes.get'), ['src/api/', 'app', 'routes.get']);
  assert.deepEqual(splitHandler('/abs/dir/m.h'), ['/abs/dir/', 'm', 'h']);
});

test('splitHandler refuses ".." anywhere and names without an export', () => {
  for (const name of ['../index.handler', 'a/../b.handler', 'index..handler']) {
    assert.throws(() => splitHandler(name), (e) => {
      assert.equal(e.name, 'Runtime.MalformedHandlerName');
      assert.match(e.message, /is not a valid handler name/);
      return true;
    }, name);
  }
  for (const name of ['index', 'index.', 'dir/index', '']) {
    const expected = { name: 'Runtime.MalformedHandlerName', message: 'Bad handler' };
    assert.throws(() => splitHandler(name), expected, name);
  }
});

test('packageTypeIsModule reads the nearest package.json', (t) => {
  const root = tree(t, {
    'package.json': '{"type": "module"}',
    'a/b/file.js': '',
    'cjs/package.json': '{"type": "commonjs"}',
    'cjs/deeper/file.js': '',
    'untyped/package.json': '{"name": "x"}',
  });
  assert.equal(packageTypeIsModule(root), true);
  assert.equal(packageTypeIsModule(path.join(root, 'a', 'b')), true);
  assert.equal(packageTypeIsModule(path.join(root, 'cjs', 'deeper')), false);
  assert.equal(packageTypeIsModule(path.join(root, 'untyped')), false);
});

test('packageTypeIsModule does not look past node_modules, nor take a broken package.json', (t) => {
  const root = tree(t, {
    'package.json': '{"type": "module"}',
    'node_modules/dep/index.js': '',
    'broken/package.json': '{ not json',
  });
  assert.equal(packageTypeIsModule(path.join(root, 'node_modules', 'dep')), false);
  t.mock.method(console, 'warn', () => {});
  assert.equal(packageTypeIsModule(path.join(root, 'broken')), false);
  assert.equal(console.warn.mock.callCount(), 1);
  assert.match(console.warn.mock.calls[0].arguments[0], /cannot be read/);
});

test('a file named exactly as the handler module comes first, as CommonJS', async (t) => {
  const root = tree(t, { m: cjs('m'), 'm.js': cjs('m.js'), 'm.mjs': esm('m.mjs') });
  assert.deepEqual(await answer(root, 'm.handler'), { file: 'm', esm: false });
});

test('then .js (CommonJS), .mjs, .cjs in that order', async (t) => {
  const all = tree(t, { 'm.js': cjs('m.js'), 'm.mjs': esm('m.mjs'), 'm.cjs': cjs('m.cjs') });
  assert.deepEqual(await answer(all, 'm.handler'), { file: 'm.js', esm: false });
  const noJs = tree(t, { 'm.mjs': esm('m.mjs'), 'm.cjs': cjs('m.cjs') });
  assert.deepEqual(await answer(noJs, 'm.handler'), { file: 'm.mjs', esm: true });
  const onlyCjs = tree(t, { 'm.cjs': cjs('m.cjs') });
  assert.deepEqual(await answer(onlyCjs, 'm.handler'), { file: 'm.cjs', esm: false });
});

test('a .js file under "type": "module" is an ES module (top-level await too)', async (t) => {
  const topLevelAwait = "const ready = await Promise.resolve('awaited');\n";
  const root = tree(t, {
    'package.json': '{"type": "module"}',
    'm.js': `${topLevelAwait}${esm('m.js')}export const state = () => ready;\n`,
  });
  assert.deepEqual(await answer(root, 'm.handler'), { file: 'm.js', esm: true });
  assert.equal(await answer(root, 'm.state'), 'awaited');
});

test('handlers in nested directories and nested exports', async (t) => {
  const root = tree(t, {
    'src/deep/m.mjs': esm('src/deep/m.mjs'),
    'n.js': 'exports.a = { b: { handler: () => "nested" } };\n',
  });
  assert.deepEqual(await answer(root, 'src/deep/m.handler'), { file: 'src/deep/m.mjs', esm: true });
  assert.equal(await answer(root, 'n.a.b.handler'), 'nested');
});

test('load failures have the AWS error types', async (t) => {
  const root = tree(t, {
    'syntax.js': 'exports.handler = () => {;\n',
    'dep.js': 'require("lamella-no-such-package");\n',
    'm.js': 'exports.value = 42;\n',
    'throws.js': 'throw new RangeError("init failed");\n',
  });
  const cases = [
    ['nosuch.handler', 'Runtime.ImportModuleError', /Cannot find module 'nosuch'/],
    ['dep.handler', 'Runtime.ImportModuleError', /lamella-no-such-package/],
    ['syntax.handler', 'Runtime.UserCodeSyntaxError', /SyntaxError/],
    ['m.missing', 'Runtime.HandlerNotFound', /m\.missing is undefined or not exported/],
    ['m.value', 'Runtime.HandlerNotFound', /m\.value is not a function/],
    ['throws.handler', 'RangeError', /init failed/],
    ['../m.handler', 'Runtime.MalformedHandlerName', /not a valid handler name/],
  ];
  for (const [name, type, message] of cases) {
    await assert.rejects(loadHandler(root, name), (e) => {
      assert.equal(e.name, type, `${name}: ${e.stack}`);
      assert.match(e.message, message, name);
      return true;
    });
  }
});
