import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { defineConfig, type Plugin } from 'vite';

/**
 * Writes a .br and a .gz beside each script and style sheet, which the service sends to browsers
 * that accept them (@fastify/static's preCompressed): compressed once at build time, at the
 * highest levels, instead of on every request.
 */
function precompress(): Plugin {
  let outDir = '';
  return {
    name: 'taskforge-precompress',
    apply: 'build',
    configResolved(config) {
      outDir = path.resolve(config.root, config.build.outDir);
    },
    async writeBundle(_options, bundle) {
      const writes = Object.values(bundle)
        .filter((file) => /\.(js|css)$/.test(file.fileName))
        .flatMap((file) => {
          const bytes = Buffer.from(file.type === 'chunk' ? file.code : file.source);
          const target = path.join(outDir, file.fileName);
          return [
            writeFile(`${target}.gz`, gzipSync(bytes, { level: 9 })),
            writeFile(`${target}.br`, brotliCompressSync(bytes, { params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: bytes.length } })),
          ];
        });
      await Promise.all(writes);
    },
  };
}

/**
 * `vite build web` (run by `npm run build`): web/ is the root, the output goes beside the
 * compiled service in dist/web, which the service serves at /app/.
 */
export default defineConfig(({ command }) => ({
  base: '/app/',
  // The production JSX runtime for every build: a NODE_ENV of development or test in the
  // environment (`NODE_ENV=development npm start`) must not ship jsxDEV's source locations.
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact', development: command === 'serve' } },
  build: {
    outDir: '../dist/web',
    emptyOutDir: true,
    target: 'es2022',
    // Nothing inlined as a data: URL: every asset is a file the CSP allows as 'self'.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    reportCompressedSize: false,
  },
  plugins: [precompress()],
  // `npm run dev:web`: the client with hot reload at /app/; everything else goes to the service
  // (`npm run dev`, or TASKFORGE_URL), so the page and the API share one origin as in production.
  server: {
    proxy: { '^/(?!app(/|$))': { target: process.env.TASKFORGE_URL ?? 'http://127.0.0.1:3000' } },
  },
}));
