// `mixcd datasets`: list the datasets the workbench knows, validate one, describe one (counts per
// class and group, shape, fingerprint). A malformed dataset exits 2 with its one-sentence error.
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { packageRoot } from '../data/packageRoot.js';
import type { Command } from 'commander';
import type { DatasetDescription } from '../../shared/datasets.js';
import { DataError } from '../data/dataset.js';
import { describeDataset, resolveDataset } from '../data/declared.js';
import { locateFashionMnist } from '../data/fashionMnist.js';
import { findScenarioFile, loadFileScenario, readScenarioFile, shippedScenarios } from '../data/scenarioFile.js';
import { SCENARIO_DESCRIPTIONS } from '../data/scenarios.js';
import { SCENARIOS } from '../../shared/config.js';
import { formatTable } from './table.js';

const EXIT_MALFORMED = 2;

/** The package's examples/data (shipped) and MIXCD_DATASETS_DIR (the user's). */
export function datasetDirs(): string[] {
  const shipped = path.join(packageRoot(), 'examples', 'data');
  return [shipped, ...(process.env.MIXCD_DATASETS_DIR ? [path.resolve(process.env.MIXCD_DATASETS_DIR)] : [])];
}

function describeLines(d: DatasetDescription): string {
  const rows: [string, string][] = [
    ['name', d.name],
    ['format', d.format],
    ['path', d.path],
    ['samples', String(d.count)],
    ['sample shape', `${d.sampleShape.join(' x ')} (${d.valueType})`],
    ['classes', `${d.numClasses}: ${d.classNames.join(', ')}`],
    ['groups', d.groupNames ? d.groupNames.join(', ') : 'none (the `group` rule needs a group column)'],
    ['fingerprint', d.fingerprint],
  ];
  for (const [name, s] of Object.entries(d.splits)) {
    rows.push([`${name} samples`, String(s.count)]);
    rows.push([`${name} per class`, s.perClass.map((n, c) => `${d.classNames[c]} ${n}`).join(', ')]);
    if (s.perGroup)
      rows.push([
        `${name} per group`,
        Object.entries(s.perGroup)
          .map(([g, n]) => `${g} ${n}`)
          .join(', '),
      ]);
  }
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n');
}

async function guarded(run: () => Promise<void> | void): Promise<void> {
  try {
    await run();
  } catch (error) {
    if (!(error instanceof DataError)) throw error;
    process.stderr.write(`mixcd: ${error.message}\n`);
    process.exitCode = EXIT_MALFORMED;
  }
}

export function defineDatasetsCommand(command: Command): Command {
  command.description('list, validate and describe datasets (IDX, CSV/TSV, image folders, CIFAR binary, NumPy .npy)');
  command
    .command('list', { isDefault: true })
    .description('the datasets found: Fashion-MNIST and every dataset in examples/data and MIXCD_DATASETS_DIR')
    .option('--json', 'print as JSON')
    .action((options: { json?: boolean }) => {
      const rows: { name: string; format: string; path: string; note: string }[] = [];
      try {
        const fm = locateFashionMnist();
        rows.push({ name: 'fashion-mnist', format: 'idx', path: fm.dir, note: 'built in' });
      } catch {
        rows.push({
          name: 'fashion-mnist',
          format: 'idx',
          path: '-',
          note: 'not found (apt-get install dataset-fashion-mnist)',
        });
      }
      for (const dir of datasetDirs()) {
        if (!existsSync(dir)) continue;
        for (const entry of readdirSync(dir).sort()) {
          const target = path.join(dir, entry);
          try {
            const { spec } = resolveDataset(target);
            rows.push({ name: spec.name, format: spec.format, path: target, note: '' });
          } catch (error) {
            if (!(error instanceof DataError)) throw error;
            if (/\.(csv|tsv|bin|npy)$|dataset\.json$/i.test(entry) || !entry.includes('.'))
              rows.push({ name: entry, format: '?', path: target, note: error.message });
          }
        }
      }
      if (options.json) return void process.stdout.write(JSON.stringify(rows, null, 2) + '\n');
      process.stdout.write(
        formatTable(
          ['name', 'format', 'path', 'note'],
          rows.map((r) => [r.name, r.format, r.path, r.note]),
        ) + '\n',
      );
    });
  command
    .command('validate')
    .description('load a dataset fully and say whether it is usable (exit 2 with the problem if not)')
    .argument('<path>', 'a dataset folder, a dataset.json, or a CSV/TSV/CIFAR file')
    .option('--format <format>', 'idx, csv, tsv, images, cifar10, cifar100 or npy (default: recognised)')
    .action((target: string, options: { format?: string }) =>
      guarded(async () => {
        const d = await describeDataset(target, options.format);
        process.stdout.write(
          `${d.path}: ok, ${d.name} (${d.format}), ${d.count} samples of ${d.sampleShape.join('x')}, ` +
            `${d.numClasses} classes${d.hasGroups ? `, ${d.groupNames?.length} groups` : ''}, ` +
            `fingerprint ${d.fingerprint.slice(0, 16)}\n`,
        );
      }),
    );
  command
    .command('describe')
    .description('counts per class and group, sample shape, class names and fingerprint of a dataset')
    .argument('<path>', 'a dataset folder, a dataset.json, or a CSV/TSV/CIFAR file')
    .option('--format <format>', 'idx, csv, tsv, images, cifar10, cifar100 or npy (default: recognised)')
    .option('--json', 'print one JSON object')
    .action((target: string, options: { format?: string; json?: boolean }) =>
      guarded(async () => {
        const d = await describeDataset(target, options.format);
        process.stdout.write(options.json ? JSON.stringify(d, null, 2) + '\n' : describeLines(d) + '\n');
      }),
    );
  return command;
}

export function defineScenariosCommand(command: Command): Command {
  command
    .description('the scenarios: built-in names and shipped scenario files (scenarios/, examples/scenarios/)')
    .option('--json', 'print as JSON')
    .option('--check <file-or-name>', 'load a scenario file and its datasets and print its sets (exit 2 if malformed)')
    .option('--data-dir <dir>', 'folder with the Fashion-MNIST IDX files, for scenarios that use it')
    .action((options: { json?: boolean; check?: string; dataDir?: string }) =>
      guarded(async () => {
        if (options.check) {
          const file = findScenarioFile(options.check);
          if (!file)
            throw new DataError(
              `There is no scenario file or shipped scenario "${options.check}"; \`mixcd scenarios\` lists them.`,
            );
          const spec = readScenarioFile(file);
          const { scenario, fingerprint, sources } = await loadFileScenario(spec, file, options.dataDir);
          const sets = [
            { task: 'pretrain', train: scenario.pretrainTrain.count, test: scenario.pretrainTest.count },
            ...(scenario.stages ?? []).map((s) => ({ task: s.name, train: s.train.count, test: s.test.count })),
          ];
          const out = { name: spec.name, path: file, numClasses: scenario.numClasses, fingerprint, sources, sets };
          if (options.json) return void process.stdout.write(JSON.stringify(out, null, 2) + '\n');
          process.stdout.write(
            `${spec.name} (${file}): ${scenario.numClasses} classes, fingerprint ${fingerprint}\n` +
              formatTable(
                ['task', 'train', 'test'],
                sets.map((s) => [s.task, s.train, s.test]),
              ) +
              '\n',
          );
          return;
        }
        const rows: { name: string; kind: string; stages: number; path: string; description: string }[] = [];
        for (const name of SCENARIOS)
          rows.push({ name, kind: 'built-in', stages: 1, path: '-', description: SCENARIO_DESCRIPTIONS[name] });
        for (const s of shippedScenarios()) {
          try {
            const spec = readScenarioFile(s.path);
            rows.push({
              name: s.name,
              kind: 'file',
              stages: spec.stages.length,
              path: s.path,
              description: spec.description,
            });
          } catch (error) {
            if (!(error instanceof DataError)) throw error;
            rows.push({ name: s.name, kind: 'file (invalid)', stages: 0, path: s.path, description: error.message });
          }
        }
        if (options.json) return void process.stdout.write(JSON.stringify(rows, null, 2) + '\n');
        process.stdout.write(
          formatTable(
            ['name', 'kind', 'stages', 'path', 'description'],
            rows.map((r) => [r.name, r.kind, r.stages, r.path, r.description]),
          ) + '\n',
        );
      }),
    );
  return command;
}
