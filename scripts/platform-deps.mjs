// Publish-time optionalDependencies, as napi-rs projects do: the checked-in package.json
// lists no @kvstore-plus-plus/native-* packages (they are not on the registry until a
// release publishes them, so no lock file could hold them and `npm ci` on a clone would
// fail). `npm pack` / `npm publish` run this as prepack (add) and postpack (restore):
//   node scripts/platform-deps.mjs add      writes optionalDependencies for every npm/<id>/
//                                           package at its version, keeping the original
//                                           package.json in package.json.prepack
//   node scripts/platform-deps.mjs restore  puts the original back (no-op when nothing to do)
// The tarball therefore lists every platform package, and npm installs the one whose os,
// cpu and libc match; the checkout stays as committed.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const manifestFile = path.join(root, 'package.json');
const backup = `${manifestFile}.prepack`;
const verb = process.argv[2];

/** { '@kvstore-plus-plus/native-<id>': version } for every folder under npm/. */
export function platformDependencies() {
  const deps = {};
  for (const dir of fs.readdirSync(path.join(root, 'npm')).sort()) {
    const pkg = JSON.parse(fs.readFileSync(path.join(root, 'npm', dir, 'package.json'), 'utf8'));
    deps[pkg.name] = pkg.version;
  }
  return deps;
}

if (verb === 'add') {
  const text = fs.readFileSync(manifestFile, 'utf8');
  const manifest = JSON.parse(text);
  if (manifest.optionalDependencies && Object.keys(manifest.optionalDependencies).length > 0) {
    console.error('platform-deps: package.json already lists optionalDependencies; a previous pack did not restore it? (git checkout package.json)');
    process.exit(1);
  }
  fs.writeFileSync(backup, text);
  manifest.optionalDependencies = platformDependencies();
  fs.writeFileSync(manifestFile, `${JSON.stringify(manifest, null, 2)}\n`);
} else if (verb === 'restore') {
  if (fs.existsSync(backup)) fs.renameSync(backup, manifestFile);
} else if (verb !== undefined && verb !== 'list') {
  console.error('usage: node scripts/platform-deps.mjs add|restore|list');
  process.exit(2);
} else if (verb === 'list') {
  console.log(JSON.stringify(platformDependencies(), null, 2));
}
