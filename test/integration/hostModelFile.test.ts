// The host refuses an imported f0 that is not a trainable LayersModel before it stores a run or a
// study: invalid-request on field model.path with the importer's sentence.
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createHost } from '../../src-main/host/host.js';

const work = mkdtempSync(path.join(os.tmpdir(), 'mixcd-host-model-'));
const host = createHost({ historyFile: path.join(work, 'h.db'), cacheDir: path.join(work, 'f0'), concurrency: 1 });

afterAll(async () => {
  await host.close();
});

describe('host: model files', () => {
  it('refuses a GraphModel or a missing file for runs.start and studies.start, storing nothing', async () => {
    const graph = path.join(work, 'model.json');
    writeFileSync(graph, JSON.stringify({ format: 'graph-model', modelTopology: { node: [] } }));
    const config = { model: { arch: 'file', path: graph } };
    const run = await host.handle({ id: 1, method: 'runs.start', params: { config } });
    expect(run).toMatchObject({ ok: false, error: { code: 'invalid-request', field: 'model.path' } });
    if (!run.ok) expect(run.error.message).toMatch(/GraphModel.*--output_format tfjs_layers_model/);
    const study = await host.handle({
      id: 2,
      method: 'studies.start',
      params: {
        base: { model: { arch: 'file', path: path.join(work, 'gone.json') } },
        strategies: ['none'],
        budgets: [0.1],
        seeds: [1],
      },
    });
    expect(study).toMatchObject({ ok: false, error: { field: 'model.path' } });
    if (!study.ok) expect(study.error.message).toMatch(/gone\.json: it does not exist/);
    const runs = await host.handle({ id: 3, method: 'runs.list', params: {} });
    expect(runs).toMatchObject({ ok: true, result: [] });
    const studies = await host.handle({ id: 4, method: 'studies.list', params: {} });
    expect(studies).toMatchObject({ ok: true, result: [] });
  });
});
