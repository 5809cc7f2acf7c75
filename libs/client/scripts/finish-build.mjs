// Node loads dist/esm as ES modules only with a package.json saying so, and only with the
// extension on every relative import (tsc keeps the specifiers as written, and the sources
// leave it out so that jest and the repository's tsconfig resolve them too.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';

const dist = new URL('../dist/', import.meta.url);
writeFileSync(new URL('esm/package.json', dist), '{ "type": "module" }\n');
writeFileSync(new URL('cjs/package.json', dist), '{ "type": "commonjs" }\n');
for (const dir of ['esm/', 'types/']) {
  for (const file of readdirSync(new URL(dir, dist))) {
    if (!/\.(js|d\.ts)$/.test(file)) continue;
    const url = new URL(dir + file, dist);
    const text = readFileSync(url, 'utf8');
    writeFileSync(
      url,
      text.replace(/(from\s+|import\s*\(\s*)(['"])(\.\.?\/[^'"]+?)(?<!\.js)\2/g, '$1$2$3.js$2'),
    );
  }
}
