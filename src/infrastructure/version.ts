import { readFileSync } from 'node:fs';

const packageJson = new URL('../../../package.json', import.meta.url);
const sourcePackageJson = new URL('../../package.json', import.meta.url);

function readVersion(): string {
  for (const url of [sourcePackageJson, packageJson]) {
    try {
      return (JSON.parse(readFileSync(url, 'utf8')) as { version: string }).version;
    } catch {
      // try the next layout: src/ when run from source, dist/src/ when compiled
    }
  }
  return '0.0.0';
}

export const VERSION = readVersion();
