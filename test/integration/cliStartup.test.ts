// What the `mixcd` process and its trainer load at start: every command used to load all of tfjs
// (layers, converter, webgl included) and sharp (libvips), about 0.7 s of every CLI call and run
// (a 1,200-step run: 3.7 s -> 2.9 s). They are now loaded where they are used. The packages each
// process loaded are read from Node's module cache at exit (a --require hook via NODE_OPTIONS,
// which the trainer inherits); tfjs and sharp are CommonJS, so the cache sees them however they
// were imported. Positive controls show the hook sees tfjs and sharp when they are needed.
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { runMixcd, smallRunFlags } from '../helpers/cliProcess.js';
import { writeIdxData } from '../helpers/idxData.js';

const root = path.resolve(__dirname, '../..');
const work = mkdtempSync(path.join(os.tmpdir(), 'mixcd-startup-'));
const dataDir = path.join(work, 'data');
const hook = path.join(work, 'loaded.cjs');
const db = path.join(work, 'history.db');

/** Runs `mixcd args`; returns the npm packages each of its processes had loaded, by entry script. */
function loadedBy(
  args: string[],
  name: string,
): { code: number | null; stderr: string; byEntry: Map<string, string[]> } {
  const out = path.join(work, `${name}.jsonl`);
  const r = runMixcd(args, {
    db,
    cacheDir: path.join(work, 'cache'),
    timeout: 120_000,
    env: { NODE_OPTIONS: `--require ${hook}`, LOADED_OUT: out },
  });
  const byEntry = new Map<string, string[]>();
  for (const line of readFileSync(out, 'utf8').trim().split('\n')) {
    const { entry, packages } = JSON.parse(line) as { entry: string; packages: string[] };
    byEntry.set(path.relative(root, entry), packages);
  }
  return { code: r.code, stderr: r.stderr, byEntry };
}

const heavy = (packages: string[]) => packages.filter((p) => p.startsWith('@tensorflow/') || p === 'sharp').sort();

beforeAll(() => {
  writeFileSync(
    hook,
    `process.on('exit', () => {
  const packages = new Set();
  for (const file of Object.keys(require.cache)) {
    const rest = file.split('/node_modules/').pop();
    if (rest === file) continue;
    const parts = rest.split('/');
    packages.add(parts[0].startsWith('@') ? parts[0] + '/' + parts[1] : parts[0]);
  }
  const line = JSON.stringify({ entry: process.argv[1], packages: [...packages] });
  require('fs').appendFileSync(process.env.LOADED_OUT, line + '\\n');
});
`,
  );
  writeIdxData(dataDir, { trainCount: 400, testCount: 100, size: 12, seed: 2 });
});

describe('what a process loads', () => {
  it('a run of a built-in model: the CLI loads neither; the trainer loads tfjs but not sharp', () => {
    const flags = smallRunFlags(dataDir, { pretrainEpochs: 1, steps: 20, evalEvery: 10 });
    const r = loadedBy(['run', ...flags, '--json'], 'run');
    expect(r.code, r.stderr).toBe(0);
    expect(heavy(r.byEntry.get('bin/mixcd.js')!)).toEqual([]);
    const trainer = r.byEntry.get('dist/src-main/trainer/main.js')!;
    // The gradients come from the union package; the run uses wasm, cpu is the last fallback.
    expect(heavy(trainer)).toEqual(
      expect.arrayContaining(['@tensorflow/tfjs', '@tensorflow/tfjs-backend-wasm', '@tensorflow/tfjs-core']),
    );
    expect(trainer).not.toContain('sharp');
  });

  it('`--version`, a usage error and the history commands load neither tfjs nor sharp', () => {
    for (const [args, name, code] of [
      [['--version'], 'version', 0],
      [['run', '--steps', '0'], 'usage', 2],
      [['runs', '--json'], 'runs', 0],
      [['show', '1', '--json'], 'show', 0],
    ] as const) {
      const r = loadedBy([...args], name);
      expect(r.code, r.stderr).toBe(code);
      expect(heavy(r.byEntry.get('bin/mixcd.js')!)).toEqual([]);
    }
  });

  it('controls: a declared layer list loads tfjs in the CLI (its check), an image folder loads sharp', async () => {
    const spec = path.join(work, 'spec.json');
    writeFileSync(spec, JSON.stringify([{ type: 'flatten' }, { type: 'dense', units: 10 }]));
    const flags = smallRunFlags(dataDir, { pretrainEpochs: 1, steps: 10, evalEvery: 10 });
    const checked = loadedBy(['run', ...flags, '--model-spec', spec, '--json'], 'spec');
    expect(checked.code, checked.stderr).toBe(0);
    expect(checked.byEntry.get('bin/mixcd.js')).toContain('@tensorflow/tfjs-core');

    const images = path.join(work, 'images');
    for (const c of ['a', 'b']) {
      mkdirSync(path.join(images, c), { recursive: true });
      for (let i = 0; i < 2; i++)
        await sharp(Buffer.alloc(4 * 4 * 3, c === 'a' ? 40 * i : 200), { raw: { width: 4, height: 4, channels: 3 } })
          .png()
          .toFile(path.join(images, c, `${i}.png`));
    }
    const validated = loadedBy(['datasets', 'validate', images], 'images');
    expect(validated.code, validated.stderr).toBe(0);
    expect(validated.byEntry.get('bin/mixcd.js')).toContain('sharp');
  });
});
