// `npm start`: the desktop window when Electron can run here, else browser mode (`mixcd serve`).
// Builds first what is missing or older than its sources. Options (after `npm start --`):
//   --browser     browser mode even where the desktop window could open
//   --no-demo     do not queue the built-in default study on an empty history
//   --port P, --host H, --db FILE   as for `mixcd serve`
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { spawn, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import path from 'node:path';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const require = createRequire(import.meta.url);
const at = (...parts) => path.join(root, ...parts);

let args;
try {
  ({ values: args } = parseArgs({
    args: process.argv.slice(2),
    options: {
      browser: { type: 'boolean' },
      'no-demo': { type: 'boolean' },
      port: { type: 'string' },
      host: { type: 'string' },
      db: { type: 'string' },
      'rotate-token': { type: 'boolean' },
    },
  }));
} catch (error) {
  console.error(
    `npm start: ${error.message} (options: --browser, --no-demo, --port P, --host H, --db FILE, --rotate-token).`,
  );
  process.exit(2);
}

/** Newest modification time under these files/folders, in ms. */
function newest(paths) {
  let latest = 0;
  const visit = (p) => {
    if (!existsSync(p)) return;
    const info = statSync(p);
    if (info.isDirectory()) for (const name of readdirSync(p)) visit(path.join(p, name));
    else latest = Math.max(latest, info.mtimeMs);
  };
  paths.forEach(visit);
  return latest;
}

const stale = (output, sources) => !existsSync(output) || statSync(output).mtimeMs < newest(sources);

/** Runs a build tool with its output on stderr, so stdout keeps only the sentence and the URL. */
function build(what, tool, toolArgs) {
  process.stderr.write(`Building ${what}...\n`);
  const result = spawnSync(process.execPath, [tool, ...toolArgs], { cwd: root, stdio: ['ignore', 2, 2] });
  if (result.status !== 0) {
    console.error(`npm start: building ${what} failed (errors above); fix them, then run npm start again.`);
    process.exit(1);
  }
}

const mainEntry = at('dist', 'src-main', 'main.js');
const serveEntry = at('dist', 'src-main', 'cli', 'serve.js');
const mainSources = [at('shared'), at('src-main'), at('tsconfig.json')];
if (stale(mainEntry, mainSources) || stale(serveEntry, mainSources)) {
  build('the host and the desktop shell (tsc)', require.resolve('typescript/bin/tsc'), ['-p', 'tsconfig.json']);
}
if (stale(at('dist', 'renderer', 'index.html'), [at('src-renderer'), at('shared'), at('vite.config.ts')])) {
  build('the page (vite)', path.join(path.dirname(require.resolve('vite/package.json')), 'bin', 'vite.js'), [
    'build',
    '--logLevel',
    'warn',
  ]);
}

/** The Electron binary's path, or null when its download never happened (offline install). */
function electronBinary() {
  try {
    const dir = path.dirname(require.resolve('electron/package.json'));
    if (!existsSync(path.join(dir, 'path.txt'))) return null;
    const binary = require('electron'); // its index.js returns the binary's path
    return typeof binary === 'string' && existsSync(binary) ? binary : null;
  } catch {
    return null;
  }
}

/**
 * Electron's build of better-sqlite3 that the install step fetched beside the Node one, when it
 * is for this Electron; the same check the window's host makes (dist/.../nativeBinding.js).
 */
async function electronSqliteBuild() {
  try {
    const electronPkg = JSON.parse(readFileSync(require.resolve('electron/package.json'), 'utf8'));
    const { electronSqliteBinding } = await import(
      pathToFileURL(at('dist', 'src-main', 'store', 'nativeBinding.js')).href
    );
    return electronSqliteBinding(root, electronPkg.version);
  } catch {
    return null;
  }
}

/**
 * The window's host opens the history with better-sqlite3, a native addon built for one ABI.
 * `npm ci` builds it for Node (the CLI and the tests need that), and Electron cannot load that
 * build; packaging makes an Electron build, and so does the install step (into a folder of its
 * own, see scripts/install-electron.mjs). True when this install has the Node build only.
 */
async function sqliteBuiltForNodeOnly() {
  try {
    const electronAbi = readFileSync(
      path.join(path.dirname(require.resolve('electron/package.json')), 'abi_version'),
      'utf8',
    ).trim();
    if (electronAbi === process.versions.modules) return false;
    if (await electronSqliteBuild()) return false;
    const Database = require('better-sqlite3');
    new Database(':memory:').close();
    return true;
  } catch {
    return false; // no Node build here: perhaps an Electron one (@electron/rebuild); let the window try
  }
}

const hasDisplay = process.platform !== 'linux' || Boolean(process.env.DISPLAY || process.env.WAYLAND_DISPLAY);
const electron = electronBinary();
const nodeOnlySqlite = Boolean(electron && hasDisplay && !args.browser && (await sqliteBuiltForNodeOnly()));

if (electron && hasDisplay && !args.browser && !nodeOnlySqlite) {
  const env = { ...process.env };
  delete env.ELECTRON_RUN_AS_NODE; // would make the binary a plain Node
  // The package folder, so Electron reads package.json (main: dist/src-main/main.js, productName:
  // the userData folder that the CLI's history path matches).
  const app = spawn(electron, [root], { cwd: root, stdio: 'inherit', env });
  const forward = (signal) => app.kill(signal);
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  app.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
} else {
  const why = args.browser
    ? 'Browser mode was asked for (--browser)'
    : !electron
      ? 'The Electron binary is not installed (its download needs internet)'
      : !hasDisplay
        ? 'There is no display here (neither DISPLAY nor WAYLAND_DISPLAY is set)'
        : 'The history database driver (better-sqlite3) is built for Node.js here, ' +
          'not for Electron (packaged apps have that build)';
  console.log(`${why}, so the workbench ${hasDisplay ? 'opens in your browser' : 'is served to a browser'} instead:`);
  const { serveCommand } = await import(pathToFileURL(serveEntry).href);
  process.exitCode = await serveCommand({
    port: args.port,
    host: args.host,
    db: args.db,
    demo: !args['no-demo'],
    rotateToken: Boolean(args['rotate-token']),
    out: (line) => console.log(line),
    // The opener gets a one-time code, never the token: its command line is visible in `ps`.
    open: (url) => {
      if (hasDisplay) openInBrowser(url);
    },
  });
}

/** Best effort: the URL is printed anyway. */
function openInBrowser(url) {
  const [command, commandArgs] =
    process.platform === 'darwin'
      ? ['open', [url]]
      : process.platform === 'win32'
        ? ['explorer.exe', [url]]
        : ['xdg-open', [url]];
  try {
    const opener = spawn(command, commandArgs, { stdio: 'ignore', detached: true });
    opener.on('error', () => {});
    opener.unref();
  } catch {
    // no opener on this machine: the printed URL is the way in
  }
}
