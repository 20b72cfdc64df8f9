// The New-run form's check of a scenario file or dataset path: the sentence it shows, and the
// checked scenario content it puts in the run config.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkData } from '../../src-main/host/dataCheck.js';

const root = path.resolve(__dirname, '../..');

describe('data.check', () => {
  it('checks the CSV scenario file with its dataset and returns its content', async () => {
    const r = await checkData(path.join(root, 'examples/scenarios/csv-groups.json'));
    expect(r.ok).toBe(true);
    if (!r.ok || r.kind !== 'scenario') throw new Error('expected a scenario');
    expect(r.spec.name).toBe('csv-groups');
    expect(r.message).toMatch(/^Scenario csv-groups: 1600 pretrain samples, 1 stage \(shuffled-features\), 4 classes/);
  });

  it('describes a dataset folder and names what is wrong with a bad path', async () => {
    const d = await checkData(path.join(root, 'examples/data/sensors'));
    expect(d).toMatchObject({ ok: true, kind: 'dataset' });
    expect(d.message).toMatch(/groups east, north, south/);
    const bad = await checkData(path.join(root, 'examples/scenarios/missing.json'));
    expect(bad).toMatchObject({ ok: false });
    expect(bad.message).toMatch(/missing\.json does not exist/);
  });
});
