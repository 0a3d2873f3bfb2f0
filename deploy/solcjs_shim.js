#!/usr/bin/env node
// A stand-in for the native `solc` binary, backed by solc-js (the npm package `solc`).
//
// py-solc-x drives a compiler through two calls only: `solc --version` (it parses
// "Version: X.Y.Z+commit.HASH") and `solc --standard-json [--base-path P] [--allow-paths A,B]`
// with the input JSON on stdin. This script answers both, so py-solc-x works offline where no
// native solc can be installed. Unlike `solcjs --standard-json`, it writes nothing but the
// output JSON to stdout (solcjs prints a warning line first, which breaks JSON parsing).
'use strict';

const fs = require('fs');
const path = require('path');

// Find a node_modules directory that contains `solc`: $POQ_NODE_MODULES first, then every
// ancestor of the working directory and of this script's directory.
function locateSolc() {
  const candidates = [];
  if (process.env.POQ_NODE_MODULES) {
    candidates.push(process.env.POQ_NODE_MODULES);
  }
  for (const start of [process.cwd(), __dirname]) {
    let dir = path.resolve(start);
    for (;;) {
      candidates.push(path.join(dir, 'node_modules'));
      const parent = path.dirname(dir);
      if (parent === dir) break;
      dir = parent;
    }
  }
  for (const nodeModules of candidates) {
    const pkg = path.join(nodeModules, 'solc', 'package.json');
    if (fs.existsSync(pkg)) {
      return require(path.join(nodeModules, 'solc'));
    }
  }
  try {
    return require('solc'); // global NODE_PATH, as a last resort
  } catch (err) {
    process.stderr.write(
      'solcjs_shim: cannot find the npm package `solc`; run `npm install` in the project ' +
        'root or set POQ_NODE_MODULES\n'
    );
    process.exit(2);
  }
}

// Parse the flags py-solc-x (or a user) may pass; unknown flags are accepted and ignored so
// the shim never fails on an option solc-js has no use for (e.g. --output-dir, --overwrite).
function parseArgs(argv) {
  const opts = { version: false, standardJson: false, basePath: null, allowPaths: [], includePaths: [] };
  for (let i = 0; i < argv.length; i++) {
    let arg = argv[i];
    let value = null;
    const eq = arg.indexOf('=');
    if (arg.startsWith('--') && eq > 0) {
      value = arg.slice(eq + 1);
      arg = arg.slice(0, eq);
    }
    const takeValue = () => (value !== null ? value : argv[++i]);
    switch (arg) {
      case '--version':
        opts.version = true;
        break;
      case '--standard-json':
        opts.standardJson = true;
        break;
      case '--base-path':
        opts.basePath = takeValue();
        break;
      case '--allow-paths':
        opts.allowPaths.push(...String(takeValue()).split(',').filter(Boolean));
        break;
      case '--include-path':
        opts.includePaths.push(takeValue());
        break;
      default:
        break;
    }
  }
  return opts;
}

// Import callback: resolve a source unit name against the base path and include paths, and
// only read files inside the base path, the include paths or the allowed paths (as native
// solc does), so a contract cannot pull arbitrary files from the disk.
function makeResolver(opts) {
  const base = path.resolve(opts.basePath || process.cwd());
  const roots = [base, ...opts.includePaths.map((p) => path.resolve(p))];
  const allowed = [...roots, ...opts.allowPaths.map((p) => path.resolve(p))];
  const isAllowed = (file) =>
    allowed.some((dir) => file === dir || file.startsWith(dir.endsWith(path.sep) ? dir : dir + path.sep));
  return function resolveImport(sourceUnitName) {
    const tried = path.isAbsolute(sourceUnitName)
      ? [path.resolve(sourceUnitName)]
      : roots.map((root) => path.resolve(root, sourceUnitName));
    for (const file of tried) {
      if (!isAllowed(file)) continue;
      try {
        return { contents: fs.readFileSync(file, 'utf8') };
      } catch (err) {
        // try the next root
      }
    }
    return { error: `File not found inside the base path or any of the include paths: ${sourceUnitName}` };
  };
}

function readStdin() {
  return fs.readFileSync(0, 'utf8');
}

function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (opts.version) {
    const solc = locateSolc();
    process.stdout.write(`solc, the solidity compiler commandline interface\nVersion: ${solc.version()}\n`);
    return;
  }
  if (opts.standardJson) {
    const solc = locateSolc();
    const output = solc.compile(readStdin(), { import: makeResolver(opts) });
    process.stdout.write(output);
    return;
  }
  process.stderr.write('solcjs_shim: only --version and --standard-json are supported\n');
  process.exit(1);
}

main();
