// `mixcd datasets` and `mixcd run --scenario FILE` as a user runs them (the built binary): the
// shipped CSV with a group column described and run with the `group` rule; a two-stage scenario
// printing its accuracy matrix; malformed data exits 2 with its sentence.
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runMixcd } from '../helpers/cliProcess.js';

const root = path.resolve(__dirname, '../..');
const work = mkdtempSync(path.join(os.tmpdir(), 'mixcd-datasets-cli-'));

function mixcd(args: string[]) {
  return runMixcd(args, { db: path.join(work, 'h.db'), cacheDir: path.join(work, 'cache'), timeout: 300_000 });
}

const tiny = ['--backend', 'wasm', '--hidden', '16', '--pretrain-epochs', '1', '--steps', '20', '--eval-every', '10'];

describe('mixcd datasets and scenario files', () => {
  it('describes the shipped CSV dataset with the names tools rely on', () => {
    const r = mixcd(['datasets', 'describe', path.join(root, 'examples/data/sensors'), '--json']);
    expect(r.code).toBe(0);
    const d = JSON.parse(r.stdout);
    expect(d).toMatchObject({ name: 'sensors', format: 'csv', count: 2200, numClasses: 4, hasGroups: true });
    expect(d.classNames).toEqual(['cycle', 'idle', 'run', 'walk']);
    expect(d.sampleShape).toEqual([1, 12, 1]);
    expect(d.fingerprint).toMatch(/^[0-9a-f]{64}$/);
  });

  it('exits 2 with one sentence for a malformed dataset', () => {
    const bad = path.join(work, 'bad.csv');
    writeFileSync(bad, 'label,a,b\n0,1,2\n1,oops,3\n');
    const r = mixcd(['datasets', 'describe', bad, '--format', 'csv', '--json']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim()).toBe(
      `mixcd: ${bad} line 3 column "a" has "oops", which is not a number; fix ` +
        `the value or declare the column as "idColumn"/"groupColumn".`,
    );
  });

  it('runs mix-cd with the group rule on the CSV scenario, and refuses the rule where there is no group column', () => {
    const file = path.join(root, 'examples/scenarios/csv-groups.json');
    const r = mixcd([
      'run',
      '--scenario',
      file,
      '--strategy',
      'mix-cd',
      '--budget',
      '0.1',
      '--rule',
      'group',
      ...tiny,
      '--quiet',
      '--json',
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const run = JSON.parse(r.stdout);
    expect(run.status).toBe('finished');
    expect(run.config.scenarioFile.spec.name).toBe('csv-groups');
    expect(run.config.rehearsal.mixCd.rule).toBe('group');
    expect(run.accuracyMatrix).toBeUndefined();
    const plain = path.join(work, 'plain.csv');
    const rows = Array.from({ length: 60 }, (_, i) => `${i % 3},${i % 3},${(i * 7) % 5},${(i * 3) % 4}`);
    writeFileSync(plain, ['label,a,b,c', ...rows].join('\n') + '\n');
    const noGroups = path.join(work, 'nogroups.json');
    const set = (take: string, transforms: unknown[] = []) => ({
      dataset: 'p',
      part: { seed: 1, fraction: 0.5, take },
      transforms,
    });
    const shuffle = [{ op: 'permute', seed: 1 }];
    writeFileSync(
      noGroups,
      JSON.stringify({
        name: 'nogroups',
        datasets: { p: { path: 'plain.csv' } },
        pretrain: { train: set('fraction'), test: set('rest') },
        stages: [{ name: 'x', train: set('fraction', shuffle), test: set('rest', shuffle) }],
      }),
    );
    const refused = mixcd([
      'run',
      '--scenario',
      noGroups,
      '--strategy',
      'mix-cd',
      '--rule',
      'group',
      ...tiny,
      '--quiet',
    ]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(
      /partition rule "group" needs a group column, but the pretrain set of scenario file .*nogroups\.json .* has none/,
    );
  });

  it('names a missing scenario file and lists the shipped scenarios', () => {
    const r = mixcd(['run', '--scenario', 'nowhere/two.json', '--quiet']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--scenario: Scenario file .*nowhere\/two\.json does not exist/);
    const list = JSON.parse(mixcd(['scenarios', '--json']).stdout) as { name: string; stages: number }[];
    expect(list.find((s) => s.name === 'two-stage')?.stages).toBe(2);
    expect(list.filter((s) => ['rot90', 'permute', 'split'].includes(s.name)).length).toBe(6);
  });
});
