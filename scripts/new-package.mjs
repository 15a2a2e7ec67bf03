// Scaffolds packages/<name> with the layout CONVENTIONS.md describes. Usage:
//   node scripts/new-package.mjs <name> "<one-line description>" [dep ...]
// Internal deps (@wid/...) become workspace:^ and tsconfig project references.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';

const [name, description, ...deps] = process.argv.slice(2);
if (!name || !description) {
  console.error('usage: node scripts/new-package.mjs <name> "<description>" [dep ...]');
  process.exit(2);
}
const dir = new URL(`../packages/${name}/`, import.meta.url);
if (existsSync(dir)) {
  console.error(`packages/${name} already exists`);
  process.exit(1);
}
for (const sub of ['src', 'test']) mkdirSync(new URL(sub, dir), { recursive: true });
const dependencies = {};
const references = [];
for (const dep of deps) {
  const [depName, range] = dep.startsWith('@')
    ? ['@' + dep.slice(1).split('@')[0], dep.slice(1).split('@')[1]]
    : dep.split('@');
  if (depName.startsWith('@wid/')) {
    dependencies[depName] = 'workspace:^';
    references.push({ path: `../${depName.slice(5)}` });
  } else dependencies[depName] = range ?? '*';
}
const pkg = {
  name: `@wid/${name}`,
  version: '0.1.0',
  description,
  license: 'Apache-2.0',
  type: 'module',
  sideEffects: false,
  engines: { node: '>=20.19' },
  exports: { '.': { types: './dist/index.d.ts', default: './dist/index.js' }, './package.json': './package.json' },
  main: './dist/index.js',
  types: './dist/index.d.ts',
  files: ['dist', '!dist/**/*.tsbuildinfo'],
  dependencies,
};
const write = (path, text) => writeFileSync(new URL(path, dir), text);
write('package.json', `${JSON.stringify(pkg, null, 2)}\n`);
write(
  'tsconfig.json',
  `${JSON.stringify(
    {
      extends: '../../tsconfig.base.json',
      compilerOptions: { rootDir: 'src', outDir: 'dist', tsBuildInfoFile: 'dist/.tsbuildinfo' },
      include: ['src'],
      references,
    },
    null,
    2,
  )}\n`,
);
write('README.md', `# @wid/${name}\n\n${description}\n`);
write('CHANGELOG.md', `# @wid/${name}\n`);
write('src/index.ts', `/**\n * @wid/${name}: ${description}\n */\nexport {};\n`);
console.log(`created packages/${name}`);
