// What resume needs from the history, and a run's identity: reopening a stopped run (never a
// finished one), replacing its data with a checkpoint's, and finding a finished run by identity.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseRunConfig } from '../../shared/config.js';
import type { ComputeCounts, EvalPoint, Provenance } from '../../shared/results.js';
import { gitCommit } from '../../src-main/engine/provenance.js';
import { NUMERICS_VERSION, runIdentity } from '../../src-main/engine/runIdentity.js';
import { openHistory, type History } from '../../src-main/store/database.js';
import { HistoryError } from '../../src-main/store/errors.js';

let dir: string;
let h: History;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mixcd-resume-store-'));
  h = openHistory(path.join(dir, 'history.db'));
});
afterEach(() => {
  h.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const compute: ComputeCounts = { forwardPasses: 10, backwardPasses: 10, extraForwardPasses: 0, wallSeconds: 1 };
const point = (step: number): EvalPoint => ({
  step,
  pretrainTestAcc: 0.9,
  finetuneTestAcc: 0.5,
  cdRate: 0.1,
  rehearsalPrecision: null,
});
const provenance: Provenance = {
  workbenchVersion: '1.2.3',
  gitCommit: null,
  node: '20.0.0',
  electron: null,
  tfjs: '4.22.0',
  backend: { name: 'wasm', version: '@tensorflow/tfjs-backend-wasm@4.22.0', device: 'CPU (wasm)' },
  machine: { hostname: 'h', platform: 'linux', arch: 'x64', cpuModel: 'cpu', cores: 2, memoryGb: 4 },
};

function ended(status: 'finished' | 'cancelled' | 'failed'): number {
  const id = h.createRun({ config: parseRunConfig({}) });
  h.markRunning(id, { backend: 'wasm', device: 'd', dataFingerprint: 'fp', identity: 'abc', provenance });
  h.appendEvalPoints(id, [point(0), point(100)]);
  h.finishRun(id, { status, compute });
  return id;
}

describe('reopening a run to resume it', () => {
  it('a cancelled or failed run goes back to queued, its data replaceable; identity and provenance kept', () => {
    for (const status of ['cancelled', 'failed'] as const) {
      const id = ended(status);
      h.reopenRun(id);
      expect(h.getRunStatus(id)).toBe('queued');
      expect(h.getRun(id)!.error).toBeNull();
      h.markRunning(id, { backend: 'wasm', device: 'd', dataFingerprint: 'fp' });
      h.clearRunData(id);
      expect(h.getSeries(id)).toEqual([]);
      h.appendEvalPoints(id, [point(0)]);
      h.finishRun(id, { status: 'finished', compute });
      const run = h.getRun(id)!;
      expect(run.status).toBe('finished');
      expect(run.series.map((p) => p.step)).toEqual([0]);
      expect(run.identity).toBe('abc');
      expect(run.provenance).toEqual(provenance);
    }
  });

  it('a finished run is never reopened, not even by hand-written SQL', () => {
    const id = ended('finished');
    expect(() => h.reopenRun(id)).toThrow(HistoryError);
    expect(() => h.reopenRun(id)).toThrow(/finished: there is nothing to resume/);
    expect(() => h.db.prepare(`UPDATE runs SET status = 'queued' WHERE id = ?`).run(id)).toThrow(/never altered/);
    expect(() => h.clearRunData(id)).toThrow(/finished runs are never altered/);
    expect(h.getRun(id)!.series).toHaveLength(2);
  });

  it('a stopped run cannot be altered in any other way than reopening it', () => {
    const id = ended('cancelled');
    expect(() => h.db.prepare(`UPDATE runs SET final_pretrain_acc = 1 WHERE id = ?`).run(id)).toThrow(/never altered/);
    expect(() => h.db.prepare(`UPDATE runs SET status = 'finished' WHERE id = ?`).run(id)).toThrow(/never altered/);
  });

  it('finds the first finished run with an identity', () => {
    ended('cancelled');
    const done = ended('finished');
    ended('finished');
    expect(h.finishedRunWithIdentity('abc')).toBe(done);
    expect(h.finishedRunWithIdentity('other')).toBeNull();
  });
});

describe('run identity', () => {
  const fp = 'f'.repeat(64);
  it('is the same for the same config built in another key order or data folder, and differs otherwise', () => {
    const a = parseRunConfig({ seed: 3, rehearsal: { strategy: 'mix-cd', budget: 0.1 } });
    const b = parseRunConfig({ rehearsal: { budget: 0.1, strategy: 'mix-cd' }, seed: 3, dataDir: '/elsewhere' });
    expect(runIdentity(a, fp)).toBe(runIdentity(b, fp));
    expect(runIdentity(a, fp)).toMatch(/^[0-9a-f]{32}$/);
    expect(runIdentity({ ...a, seed: 4 }, fp)).not.toBe(runIdentity(a, fp));
    expect(runIdentity(a, 'e'.repeat(64))).not.toBe(runIdentity(a, fp));
    expect(runIdentity({ ...a, backend: 'webgpu' }, fp)).not.toBe(runIdentity(a, fp));
    expect(NUMERICS_VERSION).toBeGreaterThanOrEqual(1);
  });
});

describe('provenance', () => {
  it("reads the checkout's commit from .git without git, following a worktree's gitdir file", () => {
    const repo = path.join(dir, 'repo');
    const commit = 'a'.repeat(40);
    fs.mkdirSync(path.join(repo, '.git', 'refs', 'heads'), { recursive: true });
    fs.writeFileSync(path.join(repo, '.git', 'HEAD'), 'ref: refs/heads/main\n');
    fs.writeFileSync(path.join(repo, '.git', 'refs', 'heads', 'main'), `${commit}\n`);
    expect(gitCommit(repo)).toBe(commit);
    // A worktree: .git is a file pointing at its gitdir, whose refs live in the main repository.
    const wt = path.join(dir, 'wt');
    const wtGit = path.join(repo, '.git', 'worktrees', 'wt');
    fs.mkdirSync(wtGit, { recursive: true });
    fs.mkdirSync(wt);
    fs.writeFileSync(path.join(wt, '.git'), `gitdir: ${wtGit}\n`);
    fs.writeFileSync(path.join(wtGit, 'HEAD'), 'ref: refs/heads/main\n');
    fs.writeFileSync(path.join(wtGit, 'commondir'), '../..\n');
    expect(gitCommit(wt)).toBe(commit);
    // Packed refs, and no checkout at all.
    fs.rmSync(path.join(repo, '.git', 'refs', 'heads', 'main'));
    fs.writeFileSync(path.join(repo, '.git', 'packed-refs'), `# pack-refs\n${'b'.repeat(40)} refs/heads/main\n`);
    expect(gitCommit(repo)).toBe('b'.repeat(40));
    expect(gitCommit(path.join(dir, 'nowhere'))).toBeNull();
  });
});
