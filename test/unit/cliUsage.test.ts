// The command line's usage errors, in-process (main() resolves to the exit code): one sentence
// naming the flag, file or field, the value and what is allowed, on stderr, exit code 2, nothing on
// stdout. test/integration/cli.test.ts checks that the built binary exits with that code.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { EXIT_USAGE, main } from '../../src-main/cli/main.js';

const work = mkdtempSync(path.join(os.tmpdir(), 'mixcd-cli-usage-'));
let out = '';
let err = '';

beforeEach(() => {
  out = '';
  err = '';
  vi.stubEnv('MIXCD_DB', path.join(work, 'history.db'));
  vi.stubEnv('MIXCD_CACHE_DIR', path.join(work, 'cache'));
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => ((out += String(chunk)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => ((err += String(chunk)), true));
});
afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
  process.exitCode = undefined;
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

async function bad(args: string[], pattern: RegExp) {
  const code = await main(args);
  const [stdout, stderr] = [out, err];
  out = '';
  err = '';
  expect(code, `mixcd ${args.join(' ')}`).toBe(EXIT_USAGE);
  expect(stdout).toBe('');
  expect(stderr.trim().split('\n').length).toBeLessThanOrEqual(2);
  expect(stderr).toMatch(pattern);
}

describe('mixcd usage errors', () => {
  it('names the flag, the value and what is allowed, with exit code 2', async () => {
    await bad(
      ['run', '--strategy', 'magic'],
      /--strategy.*"magic".*"none", "random", "mix-cd", "oracle-cd", "loss-based"/,
    );
    await bad(['run', '--budget', 'lots'], /--budget.*"lots".*number/);
    await bad(['run', '--steps', '-5'], /--steps.*-5.*>=1/);
    await bad(['run', '--scenario', 'rot45'], /--scenario.*"rot45".*"rot90", "permute", "split"/);
    await bad(['run', '--hidden', '256,x'], /--hidden.*"x"|model\.hidden/);
    await bad(['run', '--no-such-flag'], /unknown option '--no-such-flag'/);
    await bad(['show', 'abc'], /Run id "abc" is not valid/);
    // Not ignored: a cluster study's concurrency is Slurm's.
    await bad(
      ['study', '--strategies', 'none', '--slurm', '--dry-run', '--jobs', '2'],
      /^mixcd: --jobs .*--array-parallel/,
    );
    // Without --jobs the cluster study is written.
    const out = path.join(work, 'cluster-study');
    expect(await main(['study', '--strategies', 'none', '--slurm', '--dry-run', '--out', out])).toBe(0);
    expect(existsSync(path.join(out, 'manifest.jsonl'))).toBe(true);
  });

  it('rejects a bad config file with a sentence naming the file or field', async () => {
    const broken = path.join(work, 'broken.json');
    writeFileSync(broken, '{"finetune": {"steps": 10,');
    await bad(['run', '--config', broken], /broken\.json is not valid JSON/);
    const wrong = path.join(work, 'wrong.json');
    writeFileSync(wrong, JSON.stringify({ rehearsal: { gamma: 0.9 } }));
    await bad(['run', '--config', wrong], /Unknown config field "rehearsal.gamma"/);
    await bad(['run', '--config', path.join(work, 'absent.json')], /absent\.json: it does not exist/);
  });
});
