// `data.check`: what the New-run form shows beside its scenario-file field. A path to a .json is
// checked as a scenario file (its datasets loaded, so a bad one is named now, not when the run
// starts); anything else as a dataset. Failures are the loaders' one-sentence errors.
import path from 'node:path';
import type { DataCheck } from '../../shared/contract.js';
import { DataError } from '../data/dataset.js';
import { describeDataset } from '../data/declared.js';
import { findScenarioFile, loadFileScenario, readScenarioFile } from '../data/scenarioFile.js';

export async function checkData(target: string): Promise<DataCheck> {
  try {
    const file = target.endsWith('.json') && path.basename(target) !== 'dataset.json' ? findScenarioFile(target) : null;
    if (file) {
      const spec = readScenarioFile(file);
      const { scenario, fingerprint } = await loadFileScenario(spec, file, undefined);
      const stages = scenario.stages?.length ?? 1;
      return {
        ok: true,
        kind: 'scenario',
        path: file,
        spec,
        message:
          `Scenario ${spec.name}: ${scenario.pretrainTrain.count} pretrain samples, ` +
          `${stages} stage${stages > 1 ? 's' : ''} (${(scenario.stages ?? []).map((s) => s.name).join(', ')}), ` +
          `${scenario.numClasses} classes, fingerprint ${fingerprint.slice(0, 12)}.`,
      };
    }
    const description = await describeDataset(target);
    return {
      ok: true,
      kind: 'dataset',
      path: description.path,
      description,
      message:
        `Dataset ${description.name} (${description.format}): ${description.count} ` +
        `samples of ${description.sampleShape.join('x')}, ${description.numClasses} ` +
        `classes${description.hasGroups ? `, groups ${description.groupNames?.join(', ')}` : ', no group column'}; ` +
        `name it in a scenario file to run it.`,
    };
  } catch (error) {
    if (error instanceof DataError) return { ok: false, path: target, message: error.message };
    throw error;
  }
}
