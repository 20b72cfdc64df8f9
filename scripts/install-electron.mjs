// Runs after `npm ci`/`npm install`. Electron's own install script (which downloads the binary) is
// skipped through package.json's allowScripts so that an offline machine still installs green; this
// step tries that same download and, when it cannot, says so in one sentence. The workbench then
// runs in browser mode (`npm start` falls back by itself).
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);
let electronDir;
try {
  electronDir = path.dirname(require.resolve('electron/package.json'));
} catch {
  process.exit(0); // production install without devDependencies: nothing to do
}
const pathFile = path.join(electronDir, 'path.txt');
if (existsSync(pathFile) || process.env.ELECTRON_SKIP_BINARY_DOWNLOAD) process.exit(0);
const result = spawnSync(process.execPath, [path.join(electronDir, 'install.js')], {
  stdio: 'pipe',
  timeout: 120_000,
});
if (result.status !== 0 || !existsSync(pathFile)) {
  console.log(
    'mixcd: the Electron binary could not be downloaded, so the desktop window is unavailable on this machine and `npm start` will serve the workbench to your browser instead.',
  );
}
