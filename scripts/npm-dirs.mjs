// Regenerates npm/<platform>/ (one package per prebuilt binary, napi-rs layout) from the
// "napi" field of package.json: @napi-rs/cli writes name, version, os, cpu, libc, main and
// files; this script then replaces the description and README, which napi-rs words for a
// Rust crate named after the scope. To add a platform: add its target triple to
// napi.targets, run `npm run npm-dirs`, add the package to optionalDependencies;
// test/package.test.ts checks that the three agree with the loader's platform table.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const napi = path.join(root, 'node_modules', '.bin', 'napi');
const r = spawnSync(napi, ['create-npm-dirs'], { cwd: root, stdio: 'inherit' });
if (r.status !== 0) {
  console.error(`napi create-npm-dirs failed (${r.error?.message ?? `exit ${r.status}`})`);
  process.exit(1);
}
const main = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
for (const dir of fs.readdirSync(path.join(root, 'npm')).sort()) {
  const file = path.join(root, 'npm', dir, 'package.json');
  const pkg = JSON.parse(fs.readFileSync(file, 'utf8'));
  pkg.description = `The ${dir} native addon of ${main.name}; installed by it as an optional dependency.`;
  fs.writeFileSync(file, `${JSON.stringify(pkg, null, 2)}\n`);
  fs.writeFileSync(
    path.join(root, 'npm', dir, 'README.md'),
    `# \`${pkg.name}\`\n\nThe prebuilt native addon (\`${pkg.main}\`, Node-API 8) of ` +
      `[\`${main.name}\`](https://www.npmjs.com/package/${main.name}) for ${dir}. ` +
      `Do not install it directly: \`npm install ${main.name}\` picks the package that matches ` +
      `the machine through its optionalDependencies.\n`,
  );
}
