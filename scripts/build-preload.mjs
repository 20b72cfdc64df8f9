// Bundles the desktop preload (src-main/preload.cts) into one CommonJS file,
// dist/src-main/preload.cjs, with what it imports from shared/ inlined. A sandboxed preload runs
// as a plain script that can require only 'electron', so this is how it shares the IPC channel
// names and the MixcdBridge type with the shell and the page (shared/ipc.ts) instead of
// repeating them. Runs after tsc in `npm run build` (it replaces tsc's preload.cjs).
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Writes `preload.cjs` into `outDir` (default dist/src-main); returns its path. */
export async function buildPreload(outDir = path.join(root, 'dist', 'src-main')) {
  await build({
    configFile: false,
    root,
    logLevel: 'warn',
    build: {
      outDir,
      emptyOutDir: false,
      target: 'es2022',
      minify: false,
      sourcemap: false,
      lib: {
        entry: path.join(root, 'src-main', 'preload.cts'),
        formats: ['cjs'],
        fileName: () => 'preload.cjs',
      },
      rollupOptions: { external: ['electron'] },
    },
  });
  return path.join(outDir, 'preload.cjs');
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const file = await buildPreload();
  console.log(`Bundled the preload: ${path.relative(root, file)}`);
}
