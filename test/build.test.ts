/**
 * The two native builds (cmake-js: CMakeLists.txt; node-gyp: binding.gyp) must compile the
 * same sources with the same language level, definitions and warning flags. .ci/run also
 * builds through node-gyp and fails on any compiler warning.
 */
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { repoRoot } from './helpers.js';

const cmakePath = path.join(repoRoot, 'CMakeLists.txt');
const gypPath = path.join(repoRoot, 'binding.gyp');
const hasNative = fs.existsSync(cmakePath);

function cmakeSources(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/set\(KVSTORE_\w+_SOURCES([^)]*)\)/g)) {
    out.push(...m[1]!.split(/\s+/).filter((s) => s.length > 0));
  }
  return out.sort();
}

interface GypTarget {
  sources: string[];
  defines: string[];
  cflags_cc: string[];
}

function gypTarget(text: string): GypTarget {
  // binding.gyp is a Python literal: strip # comments, then it is JSON.
  const json = text.replace(/^\s*#.*$/gm, '');
  return (JSON.parse(json) as { targets: GypTarget[] }).targets[0]!;
}

test('binding.gyp and CMakeLists.txt build the same sources', () => {
  if (!hasNative) return;
  const cm = cmakeSources(fs.readFileSync(cmakePath, 'utf8'));
  const gyp = gypTarget(fs.readFileSync(gypPath, 'utf8'));
  assert.ok(cm.length > 0, 'CMakeLists.txt lists sources');
  assert.equal([...gyp.sources].sort(), cm);
  const onDisk = ['core', 'binding'].flatMap((d) =>
    fs.readdirSync(path.join(repoRoot, 'native', d)).filter((f) => f.endsWith('.cc')).map((f) => `native/${d}/${f}`),
  );
  assert.equal(onDisk.sort(), cm, 'every .cc under native/ is built');
});

test('both builds use C++17, warnings on and the same definitions', () => {
  if (!hasNative) return;
  const text = fs.readFileSync(cmakePath, 'utf8');
  const gyp = gypTarget(fs.readFileSync(gypPath, 'utf8'));
  assert.match(text, /CMAKE_CXX_STANDARD 17/);
  assert.ok(gyp.cflags_cc.includes('-std=c++17'));
  for (const w of ['-Wall', '-Wextra']) {
    assert.match(text, new RegExp(w));
    assert.ok(gyp.cflags_cc.includes(w), `binding.gyp has ${w}`);
  }
  const defs = /target_compile_definitions\([^)]*PRIVATE([^)]*)\)/.exec(text)![1]!.split(/\s+/).filter(Boolean).sort();
  assert.equal([...gyp.defines].sort(), defs);
});

test.run();
