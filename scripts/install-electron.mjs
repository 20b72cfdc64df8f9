// Runs after `npm ci`/`npm install`. Electron's own install script (which downloads the binary) is
// skipped through package.json's allowScripts so that an offline machine still installs green; this
// step tries that same download and, when it cannot, says so in one sentence. The workbench then
// runs in browser mode (`npm start` falls back by itself).
//
// With the binary present, it also fetches Electron's build of better-sqlite3 (the history's
// driver) into a folder of its own, as packaged apps have it: node_modules/better-sqlite3 keeps
// the Node build that the CLI and the tests load, and the desktop window points better-sqlite3 at
// the other one (src-main/store/nativeBinding.ts). Nothing here ever fails the install.
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const require = createRequire(import.meta.url);
let electronDir;
try {
  electronDir = path.dirname(require.resolve('electron/package.json'));
} catch {
  process.exit(0); // production install without devDependencies: nothing to do
}
const pathFile = path.join(electronDir, 'path.txt');
if (!existsSync(pathFile)) {
  if (process.env.ELECTRON_SKIP_BINARY_DOWNLOAD) process.exit(0);
  const result = spawnSync(process.execPath, [path.join(electronDir, 'install.js')], {
    stdio: 'pipe',
    timeout: 120_000,
  });
  if (result.status !== 0 || !existsSync(pathFile)) {
    console.log(
      'mixcd: the Electron binary could not be downloaded, so the desktop window ' +
        'is unavailable on this machine and `npm start` will serve the workbench ' +
        'to your browser instead.',
    );
    process.exit(0); // no window, so no Electron build of the driver either: stay quick and quiet
  }
}

fetchElectronSqlite();

/** The same folder and file names as src-main/store/nativeBinding.ts (which the built app reads). */
function fetchElectronSqlite() {
  const dir = path.join(root, 'node_modules', '.cache', 'mixcd', 'electron-sqlite');
  const addon = path.join(dir, 'build', 'Release', 'better_sqlite3.node');
  const markerFile = path.join(dir, 'mixcd-build.json');
  let sqliteDir;
  try {
    sqliteDir = path.dirname(require.resolve('better-sqlite3/package.json'));
  } catch {
    return; // not installed: nothing to pair with Electron
  }
  const sqlitePkg = JSON.parse(readFileSync(path.join(sqliteDir, 'package.json'), 'utf8'));
  const electronVersion = JSON.parse(readFileSync(path.join(electronDir, 'package.json'), 'utf8')).version;
  const wanted = {
    electron: electronVersion,
    betterSqlite3: sqlitePkg.version,
    platform: process.platform,
    arch: process.arch,
  };
  try {
    const marker = JSON.parse(readFileSync(markerFile, 'utf8'));
    const fetched = existsSync(addon) && Object.entries(wanted).every(([key, value]) => marker[key] === value);
    if (fetched) return;
  } catch {
    // no marker yet
  }

  // A build for another Electron or better-sqlite3 must not linger if this download fails.
  rmSync(dir, { recursive: true, force: true });
  let reason;
  try {
    mkdirSync(dir, { recursive: true });
    // prebuild-install reads name, version and repository from ./package.json and unpacks into ./build.
    cpSync(path.join(sqliteDir, 'package.json'), path.join(dir, 'package.json'));
    // better-sqlite3's own copy, so its download URL scheme is the one this version expects.
    const prebuildInstall = createRequire(path.join(sqliteDir, 'package.json')).resolve('prebuild-install/bin.js');
    const env = { ...process.env };
    // These describe the package being installed (this one) to prebuild-install, which would
    // otherwise take a git origin of ours as a reason not to download.
    delete env.npm_package_from;
    delete env.npm_package_resolved;
    env.npm_config_loglevel = 'warn'; // its reason for a failure, whatever npm's own level
    const result = spawnSync(
      process.execPath,
      [
        prebuildInstall,
        '--runtime',
        'electron',
        '--target',
        electronVersion,
        '--arch',
        process.arch,
        '--platform',
        process.platform,
      ],
      { cwd: dir, env, encoding: 'utf8', stdio: 'pipe', timeout: 120_000 },
    );
    if (result.status === 0 && existsSync(addon)) {
      writeFileSync(markerFile, `${JSON.stringify(wanted, null, 2)}\n`);
      return;
    }
    const said = `${result.stderr ?? ''}`
      .split('\n')
      .map((line) => line.replace(/^prebuild-install (warn|error)( install)? /, '').trim())
      .filter(Boolean);
    reason = result.error?.message ?? said.at(-1) ?? `prebuild-install exited with ${result.status}`;
  } catch (error) {
    reason = error instanceof Error ? error.message : String(error);
  }
  rmSync(dir, { recursive: true, force: true });
  console.log(
    `mixcd: Electron's build of better-sqlite3 (the history's database driver) ` +
      `could not be downloaded (${reason}), so \`npm start\` will fall back to ` +
      `browser mode until \`node scripts/install-electron.mjs\` is run again ` +
      `with internet access, or until \`npx @electron/rebuild -o better-sqlite3\` ` +
      `rebuilds the driver in place for Electron (which takes its Node build ` +
      `away from the \`mixcd\` CLI).`,
  );
}
