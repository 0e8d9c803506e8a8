// Loads the handler named by `_HANDLER` the way the AWS Node runtime does:
//   [dir/]file.export[.nested...]: the last path component is split at its first '.';
//   the file is tried as <file> (CommonJS), <file>.js (CommonJS unless the nearest package.json
//   says "type": "module", then ESM), <file>.mjs (ESM), <file>.cjs (CommonJS), then Node's own
//   resolution from the app root; ES modules may use top-level await (it runs during init).
// Failures throw the AWS error types: Runtime.MalformedHandlerName, Runtime.ImportModuleError,
// Runtime.UserCodeSyntaxError, Runtime.HandlerNotFound.
'use strict';

const fs = require('fs');
const path = require('path');
const errors = require('./errors');

/** Splits "dir/sub/file.a.b" into ["dir/sub/", "file", "a.b"]; throws MalformedHandlerName. */
function splitHandler(fullHandler) {
  if (fullHandler.includes('..')) {
    throw new errors.MalformedHandlerName(
      `'${fullHandler}' is not a valid handler name. Use absolute paths when specifying root directories in handler names.`,
    );
  }
  const slash = fullHandler.lastIndexOf('/');
  const moduleRoot = fullHandler.slice(0, slash + 1);
  const base = fullHandler.slice(slash + 1);
  const dot = base.indexOf('.');
  if (dot < 0 || dot === base.length - 1) throw new errors.MalformedHandlerName('Bad handler');
  return [moduleRoot, base.slice(0, dot), base.slice(dot + 1)];
}

/** True when the package.json nearest to `dir` (not crossing node_modules) is "type": "module". */
function packageTypeIsModule(dir) {
  for (let d = dir; ; d = path.dirname(d)) {
    if (d.endsWith('/node_modules')) return false;
    const pj = path.join(d, 'package.json');
    if (fs.existsSync(pj)) {
      try {
        return JSON.parse(fs.readFileSync(pj, 'utf8')).type === 'module';
      } catch (e) {
        console.warn(`${pj} cannot be read, it will be ignored for ES module detection purposes.`, e);
        return false;
      }
    }
    if (d === path.dirname(d)) return false;
  }
}

function isFile(file) {
  try {
    return fs.statSync(file).isFile();
  } catch (_) {
    return false;
  }
}

// Node >= 20.19 / 22.12 can require() an ES module synchronously, which skips the asynchronous
// loader and saves about 5 ms of cold start on these machines. A module with top-level await
// cannot be required (ERR_REQUIRE_ASYNC_MODULE, thrown before it runs): it goes through import().
const canRequireEsm = process.features && process.features.require_module === true;

async function importFile(file) {
  if (canRequireEsm) {
    try {
      return require(file);
    } catch (e) {
      if (!e || (e.code !== 'ERR_REQUIRE_ASYNC_MODULE' && e.code !== 'ERR_REQUIRE_ESM')) throw e;
    }
  }
  const { pathToFileURL } = require('url');
  return import(pathToFileURL(file).href);
}

/** Loads the module file for `file` (a path without extension) as the AWS runtime would. */
async function loadModule(appRoot, moduleRoot, name) {
  const base = path.resolve(appRoot, moduleRoot, name);
  if (isFile(base)) return require(base);
  const esm = packageTypeIsModule(path.dirname(base));
  if (isFile(base + '.js')) return esm ? importFile(base + '.js') : require(base + '.js');
  if (isFile(base + '.mjs')) return importFile(base + '.mjs');
  if (isFile(base + '.cjs')) return require(base + '.cjs');
  return require(require.resolve(name, { paths: [appRoot, path.resolve(appRoot, moduleRoot)] }));
}

/** Reads a nested property path ("a.b.c") of `object`; undefined when any step is missing. */
function resolveExport(object, propertyPath) {
  return propertyPath.split('.').reduce((o, key) => (o == null ? undefined : o[key]), object);
}

/**
 * Loads and returns the handler function for `fullHandler` ("file.export") under `appRoot`.
 * Throws (rejects with) an Error whose `name` is the AWS error type.
 */
async function loadHandler(appRoot, fullHandler) {
  const [moduleRoot, name, exportPath] = splitHandler(fullHandler);
  let userModule;
  try {
    userModule = await loadModule(appRoot, moduleRoot, name);
  } catch (e) {
    if (e instanceof SyntaxError) throw new errors.UserCodeSyntaxError(String(e), { cause: e });
    if (e && (e.code === 'MODULE_NOT_FOUND' || e.code === 'ERR_MODULE_NOT_FOUND')) {
      throw new errors.ImportModuleError(String(e), { cause: e });
    }
    throw e;
  }
  const fn = resolveExport(userModule, exportPath);
  if (!fn) throw new errors.HandlerNotFound(`${fullHandler} is undefined or not exported`);
  if (typeof fn !== 'function') throw new errors.HandlerNotFound(`${fullHandler} is not a function`);
  return fn;
}

module.exports = { loadHandler, splitHandler, packageTypeIsModule };
