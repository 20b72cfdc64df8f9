// Which build of better-sqlite3 the history opens with: under plain Node always the module's own
// (the Node build the CLI and tests use), under Electron the build the install step fetched into
// node_modules/.cache/mixcd/electron-sqlite when it is for that Electron. Electron itself cannot
// run here (no binary, no internet), so its side is tested through injected versions, a stand-in
// addon, and the install step run against a local HTTP server playing the prebuilt-binary host.
import { execFile } from 'node:child_process';
import {
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { openHistory } from '../../src-main/store/database.js';
import {
  ELECTRON_SQLITE_ADDON,
  ELECTRON_SQLITE_DIR,
  ELECTRON_SQLITE_MARKER,
  electronSqliteBinding,
  PACKAGED_SQLITE_ADDON,
  packageRoot,
  packagedSqliteBinding,
  sqliteNativeBinding,
} from '../../src-main/store/nativeBinding.js';

/** How openHistory constructed the driver, recorded by the mock below. */
const constructed = vi.hoisted(() => [] as { file: string; options: unknown }[]);

vi.mock('better-sqlite3', async (importOriginal) => {
  const real = ((await importOriginal()) as { default: new (file: string, options?: object) => object }).default;
  // Records the arguments, then builds the real driver (so the history really opens).
  function RecordingDatabase(file: string, options?: object) {
    constructed.push({ file, options });
    return new real(file, options);
  }
  return { default: RecordingDatabase };
});

const repoRoot = path.resolve(__dirname, '../..');
const sqliteDir = path.join(repoRoot, 'node_modules', 'better-sqlite3');
const sqliteVersion = (JSON.parse(readFileSync(path.join(sqliteDir, 'package.json'), 'utf8')) as { version: string })
  .version;
const electronDir = path.join(repoRoot, 'node_modules', 'electron');
const electronVersion = (
  JSON.parse(readFileSync(path.join(electronDir, 'package.json'), 'utf8')) as { version: string }
).version;
/** The Node build, standing in for Electron's: it is what this Node can actually load. */
const nodeAddon = path.join(sqliteDir, 'build', 'Release', 'better_sqlite3.node');

let work: string;
beforeAll(() => {
  work = mkdtempSync(path.join(os.tmpdir(), 'mixcd-binding-'));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

let count = 0;
/** A package root with better-sqlite3's package.json and, if asked, an "Electron build" and its marker. */
function fakeRoot(build?: { marker?: Record<string, string> | null }): string {
  const root = path.join(work, `root-${++count}`);
  mkdirSync(path.join(root, 'node_modules', 'better-sqlite3'), { recursive: true });
  writeFileSync(path.join(root, 'package.json'), JSON.stringify({ name: 'mixcd-workbench' }));
  writeFileSync(
    path.join(root, 'node_modules', 'better-sqlite3', 'package.json'),
    JSON.stringify({ name: 'better-sqlite3', version: sqliteVersion }),
  );
  if (build) {
    const dir = path.join(root, ELECTRON_SQLITE_DIR);
    mkdirSync(path.dirname(path.join(dir, ELECTRON_SQLITE_ADDON)), { recursive: true });
    copyFileSync(nodeAddon, path.join(dir, ELECTRON_SQLITE_ADDON));
    writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'better-sqlite3', version: sqliteVersion }));
    const marker =
      build.marker === undefined
        ? { electron: electronVersion, betterSqlite3: sqliteVersion, platform: process.platform, arch: process.arch }
        : build.marker;
    if (marker) writeFileSync(path.join(dir, ELECTRON_SQLITE_MARKER), JSON.stringify(marker));
  }
  return root;
}

describe('packageRoot', () => {
  it('finds the package folder from the sources (vitest) and from the build (dist)', async () => {
    expect(packageRoot()).toBe(repoRoot);
    const built = path.join(repoRoot, 'dist', 'src-main', 'store', 'nativeBinding.js');
    if (!existsSync(built)) throw new Error(`Build first (${built} is missing): npm run build (npm test does it).`);
    const fromDist = (await import(
      pathToFileURL(built).href
    )) as typeof import('../../src-main/store/nativeBinding.js');
    expect(fromDist.packageRoot()).toBe(repoRoot);
  });

  it('skips package.json files that are not this package (the Electron build folder holds one)', () => {
    const root = fakeRoot({});
    expect(packageRoot(path.join(root, ELECTRON_SQLITE_DIR, 'build', 'Release'))).toBe(root);
  });
});

describe('electronSqliteBinding', () => {
  it('is null when there is no Electron build, and its path when there is one', () => {
    expect(electronSqliteBinding(fakeRoot())).toBeNull();
    expect(electronSqliteBinding(fakeRoot(), electronVersion)).toBeNull();
    const root = fakeRoot({});
    const addon = path.join(root, ELECTRON_SQLITE_DIR, ELECTRON_SQLITE_ADDON);
    expect(electronSqliteBinding(root)).toBe(addon);
    expect(electronSqliteBinding(root, electronVersion)).toBe(addon);
  });

  it(
    'refuses a build for another Electron, another better-sqlite3 or another ' + 'platform, or one without its marker',
    () => {
      const wanted = {
        electron: electronVersion,
        betterSqlite3: sqliteVersion,
        platform: process.platform,
        arch: process.arch,
      };
      expect(
        electronSqliteBinding(fakeRoot({ marker: { ...wanted, electron: '39.0.0' } }), electronVersion),
      ).toBeNull();
      expect(
        electronSqliteBinding(fakeRoot({ marker: { ...wanted, betterSqlite3: '11.0.0' } }), electronVersion),
      ).toBeNull();
      expect(
        electronSqliteBinding(fakeRoot({ marker: { ...wanted, arch: 'not-this-arch' } }), electronVersion),
      ).toBeNull();
      expect(electronSqliteBinding(fakeRoot({ marker: null }), electronVersion)).toBeNull();
    },
  );

  it('gives a path that better-sqlite3 loads through its nativeBinding option', async () => {
    const { default: Database } = await vi.importActual<{ default: typeof import('better-sqlite3') }>('better-sqlite3');
    const addon = electronSqliteBinding(fakeRoot({}), electronVersion)!;
    const db = new Database(':memory:', { nativeBinding: addon });
    expect(db.prepare('select 41 + 1 as answer').get()).toEqual({ answer: 42 });
    db.close();
  });
});

describe('sqliteNativeBinding', () => {
  it('is undefined under plain Node, even where an Electron build exists', () => {
    expect(process.versions.electron).toBeUndefined();
    expect(sqliteNativeBinding()).toBeUndefined();
    expect(sqliteNativeBinding(process.versions, fakeRoot({}))).toBeUndefined();
    expect(sqliteNativeBinding({ node: process.versions.node }, fakeRoot({}))).toBeUndefined();
  });

  it('is the Electron build under Electron when it is for that Electron, else undefined', () => {
    const root = fakeRoot({});
    expect(sqliteNativeBinding({ node: '24.0.0', electron: electronVersion }, root)).toBe(
      path.join(root, ELECTRON_SQLITE_DIR, ELECTRON_SQLITE_ADDON),
    );
    expect(sqliteNativeBinding({ node: '24.0.0', electron: '41.0.0' }, root)).toBeUndefined();
    expect(sqliteNativeBinding({ node: '24.0.0', electron: electronVersion }, fakeRoot())).toBeUndefined();
  });
});

describe('openHistory under plain Node', () => {
  beforeEach(() => void constructed.splice(0));

  it('opens the database without a nativeBinding option (better-sqlite3 loads its own Node build)', () => {
    const file = path.join(work, 'history.db');
    const history = openHistory(file);
    try {
      expect(history.listRuns()).toEqual([]);
    } finally {
      history.close();
    }
    expect(constructed).toHaveLength(1);
    expect(constructed[0].file).toBe(file);
    expect(constructed[0].options ?? {}).not.toHaveProperty('nativeBinding');
  });
});

describe('scripts/install-electron.mjs: the Electron build of better-sqlite3', () => {
  let project: string;
  let server: http.Server;
  let host = '';
  const requests: string[] = [];
  let serve: 'tarball' | 'missing' = 'tarball';
  const tarball = () => path.join(work, 'prebuilt.tar.gz');
  const buildDir = () => path.join(project, ELECTRON_SQLITE_DIR);
  const abi = readFileSync(path.join(electronDir, 'abi_version'), 'utf8').trim();

  beforeAll(async () => {
    // A project with this script, a stand-in Electron package and the real better-sqlite3 (linked).
    project = path.join(work, 'project');
    mkdirSync(path.join(project, 'scripts'), { recursive: true });
    cpSync(
      path.join(repoRoot, 'scripts', 'install-electron.mjs'),
      path.join(project, 'scripts', 'install-electron.mjs'),
    );
    writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'mixcd-workbench' }));
    mkdirSync(path.join(project, 'node_modules', 'electron'), { recursive: true });
    writeFileSync(
      path.join(project, 'node_modules', 'electron', 'package.json'),
      JSON.stringify({ name: 'electron', version: electronVersion }),
    );
    // Electron's own download, as it goes offline.
    writeFileSync(path.join(project, 'node_modules', 'electron', 'install.js'), 'process.exit(1);\n');
    symlinkSync(sqliteDir, path.join(project, 'node_modules', 'better-sqlite3'), 'junction');
    // The prebuilt archive as better-sqlite3 publishes it: build/Release/better_sqlite3.node.
    const staging = path.join(work, 'staging');
    mkdirSync(path.join(staging, 'build', 'Release'), { recursive: true });
    copyFileSync(nodeAddon, path.join(staging, 'build', 'Release', 'better_sqlite3.node'));
    await run('tar', ['-czf', tarball(), '-C', staging, 'build']);

    server = http.createServer((req, res) => {
      requests.push(req.url ?? '');
      if (serve === 'tarball') {
        res.writeHead(200, { 'Content-Type': 'application/gzip' });
        res.end(readFileSync(tarball()));
      } else {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    host = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  function run(
    command: string,
    args: string[],
    env: NodeJS.ProcessEnv = process.env,
  ): Promise<{ code: number; stdout: string; stderr: string; ms: number }> {
    const t0 = performance.now();
    return new Promise((resolve) => {
      execFile(command, args, { cwd: project ?? work, env, timeout: 60_000 }, (error, stdout, stderr) => {
        resolve({
          code: error ? Number((error as { code?: unknown }).code ?? 1) : 0,
          stdout,
          stderr,
          ms: performance.now() - t0,
        });
      });
    });
  }

  /** The script as npm's postinstall runs it, with prebuild-install pointed at the local server. */
  function install(extra: NodeJS.ProcessEnv = {}) {
    const env: NodeJS.ProcessEnv = { ...process.env };
    // Settings of the machine running the tests that would change what the script does.
    delete env.ELECTRON_SKIP_BINARY_DOWNLOAD;
    delete env.npm_config_build_from_source;
    Object.assign(env, {
      // better-sqlite3's mirror setting, which prebuild-install reads: downloads go to the local server.
      npm_config_better_sqlite3_binary_host: host,
      npm_config_cache: path.join(work, 'npm-cache'), // prebuild-install's download cache, not ~/.npm
      ...extra,
    });
    return run(process.execPath, [path.join(project, 'scripts', 'install-electron.mjs')], env);
  }

  const pathTxt = () => path.join(project, 'node_modules', 'electron', 'path.txt');

  it('without the Electron binary (as here): one sentence about the window, no driver download', async () => {
    const offline = await install();
    expect(offline.code).toBe(0);
    expect(offline.stdout.trim().split('\n')).toEqual([
      expect.stringMatching(/^mixcd: the Electron binary could not be downloaded/),
    ]);
    const skipped = await install({ ELECTRON_SKIP_BINARY_DOWNLOAD: '1' });
    expect(skipped).toMatchObject({ code: 0, stdout: '', stderr: '' });
    expect(requests).toEqual([]);
    expect(existsSync(buildDir())).toBe(false);
    console.log(
      `no Electron binary: install step ${offline.ms.toFixed(0)} ms, with ELECTRON_SKIP_BINARY_DOWNLOAD ` +
        `${skipped.ms.toFixed(0)} ms`,
    );
  });

  it('with the binary: fetches Electron’s build beside the Node one, quietly, and only once', async () => {
    writeFileSync(pathTxt(), 'electron');
    serve = 'tarball';
    const first = await install();
    expect(first).toMatchObject({ code: 0, stdout: '' });
    // The asset for Electron's ABI (not Node's) on this platform, as prebuild-install names it.
    expect(requests).toEqual([
      expect.stringMatching(
        new RegExp(
          `^/v${sqliteVersion}/better-sqlite3-v${sqliteVersion}-electron-v${abi}-` +
            `${process.platform}[a-z]*-${process.arch}\\.tar\\.gz$`,
        ),
      ),
    ]);
    expect(abi).not.toBe(process.versions.modules);
    const addon = path.join(buildDir(), ELECTRON_SQLITE_ADDON);
    expect(electronSqliteBinding(project, electronVersion)).toBe(addon);
    expect(JSON.parse(readFileSync(path.join(buildDir(), ELECTRON_SQLITE_MARKER), 'utf8'))).toEqual({
      electron: electronVersion,
      betterSqlite3: sqliteVersion,
      platform: process.platform,
      arch: process.arch,
    });
    // The Node build is untouched.
    expect(
      readFileSync(
        path.join(project, 'node_modules', 'better-sqlite3', 'build', 'Release', 'better_sqlite3.node'),
      ).equals(readFileSync(nodeAddon)),
    ).toBe(true);

    const again = await install();
    expect(again).toMatchObject({ code: 0, stdout: '' });
    expect(requests).toHaveLength(1); // already there for this Electron: no second download
    console.log(`Electron build fetched in ${first.ms.toFixed(0)} ms; re-run skipped it in ${again.ms.toFixed(0)} ms`);
  });

  it('when no build can be had: one sentence with the way out, exit 0, and no stale build left behind', async () => {
    writeFileSync(pathTxt(), 'electron');
    // Another Electron's build was there before: it must not survive a failed fetch for this one.
    writeFileSync(
      path.join(buildDir(), ELECTRON_SQLITE_MARKER),
      JSON.stringify({
        electron: '39.0.0',
        betterSqlite3: sqliteVersion,
        platform: process.platform,
        arch: process.arch,
      }),
    );
    serve = 'missing';
    requests.length = 0;
    const failed = await install({ npm_config_cache: path.join(work, 'npm-cache-empty') });
    expect(failed.code).toBe(0);
    const lines = failed.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^mixcd: Electron's build of better-sqlite3 .* could not be downloaded \(No prebuilt binaries found .*runtime=electron.*\), so `npm start` will fall back to browser mode until `node scripts\/install-electron\.mjs` is run again .* `npx @electron\/rebuild -o better-sqlite3`/,
    );
    expect(requests).toHaveLength(1);
    expect(existsSync(buildDir())).toBe(false);
    expect(electronSqliteBinding(project, electronVersion)).toBeNull();
  });
});

describe('packaged app', () => {
  it('finds the Electron build electron-builder copied into the resources folder, and nothing elsewhere', () => {
    const resources = mkdtempSync(path.join(os.tmpdir(), 'mixcd-resources-'));
    expect(packagedSqliteBinding(resources)).toBeNull();
    expect(packagedSqliteBinding(undefined)).toBeNull();
    mkdirSync(path.join(resources, path.dirname(PACKAGED_SQLITE_ADDON)), { recursive: true });
    writeFileSync(path.join(resources, PACKAGED_SQLITE_ADDON), 'addon');
    expect(packagedSqliteBinding(resources)).toBe(path.join(resources, PACKAGED_SQLITE_ADDON));
    // electron-builder.yml must ship the file where the app looks for it.
    const builder = readFileSync(path.join(packageRoot(), 'electron-builder.yml'), 'utf8');
    expect(builder).toContain(`to: ${PACKAGED_SQLITE_ADDON.split(path.sep).join('/')}`);
    expect(builder).toContain(
      `from: ${[ELECTRON_SQLITE_DIR, ELECTRON_SQLITE_ADDON].join(path.sep).split(path.sep).join('/')}`,
    );
    rmSync(resources, { recursive: true, force: true });
  });
});
