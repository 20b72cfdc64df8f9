// `npm start`: until the desktop app lands, run the built-in default comparison from the CLI:
// rot90 on Fashion-MNIST, no rehearsal against random rehearsal at r = 0.1, and print its table.
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
if (!existsSync(path.join(root, 'dist/src-main/cli/main.js'))) {
  const build = spawnSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
  if (build.status !== 0) process.exit(build.status ?? 1);
}
const args = ['study', '--scenario', 'rot90', '--strategies', 'none,random', '--budgets', '0.1', '--seeds', '1', ...process.argv.slice(2)];
const run = spawnSync(process.execPath, [path.join(root, 'bin/mixcd.js'), ...args], { cwd: root, stdio: 'inherit' });
process.exit(run.status ?? 1);
