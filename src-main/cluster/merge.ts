// `mixcd merge DIR`: every finished shard of a cluster study imported into a history, under one
// study made from DIR/study.json (found again by name and config on the next merge), idempotently
// by run identity. A damaged shard is named and skipped; nothing of it is stored.
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { History } from '../store/database.js';
import { canonical } from '../engine/runIdentity.js';
import { importShard } from '../store/importRun.js';
import { SHARD_NAME, clusterPaths, readManifest, readClusterStudy, shardFile } from './manifest.js';

export interface MergeResult {
  added: number;
  alreadyPresent: number;
  skipped: { file: string; reason: string }[];
  /** The study the runs are in; null when none was there and nothing was added. */
  studyId: number | null;
  studyName: string;
  /** Manifest runs with no finished shard yet. */
  notFinished: number;
  db: string;
}

export function mergeStudy(dir: string, history: History): MergeResult {
  const paths = clusterPaths(dir);
  const study = readClusterStudy(dir);
  const entries = existsSync(paths.manifest) ? readManifest(paths.manifest) : [];
  const order = new Map(entries.map((e) => [e.identity, e.index]));
  const studyConfig = { base: study.base, grid: study.grid };
  const wanted = JSON.stringify(canonical(studyConfig));
  let studyId: number | null =
    history
      .listStudies()
      .filter((s) => s.name === study.name && JSON.stringify(canonical(s.config)) === wanted)
      .map((s) => s.id)
      .sort((a, b) => a - b)[0] ?? null;
  const existed = studyId !== null;
  const ensureStudy = () => (studyId ??= history.createStudy(study.name, studyConfig));
  const files = (existsSync(paths.shards) ? readdirSync(paths.shards) : [])
    .map((name) => ({ name, identity: SHARD_NAME.exec(name)?.[1] }))
    .filter((f): f is { name: string; identity: string } => f.identity !== undefined)
    // In the manifest's order, so run ids follow the grid as they do for a local study.
    .sort(
      (a, b) =>
        (order.get(a.identity) ?? Infinity) - (order.get(b.identity) ?? Infinity) || a.name.localeCompare(b.name),
    );
  const result: MergeResult = {
    added: 0,
    alreadyPresent: 0,
    skipped: [],
    studyId: null,
    studyName: study.name,
    notFinished: entries.filter((e) => !existsSync(shardFile(paths, e.identity))).length,
    db: history.file,
  };
  for (const { name, identity } of files) {
    const file = path.join(paths.shards, name);
    const outcome = importShard(history, file, { studyId: ensureStudy, identity });
    if (outcome.outcome === 'added') result.added++;
    else if (outcome.outcome === 'present') result.alreadyPresent++;
    else result.skipped.push({ file, reason: outcome.reason });
  }
  // A study made for runs that then all turned out damaged would be an empty study: removed.
  if (!existed && studyId !== null && result.added === 0) {
    history.deleteStudy(studyId);
    studyId = null;
  }
  result.studyId = studyId;
  return result;
}

export function mergeSummary(result: MergeResult, dir: string): string {
  const runs = (n: number) => `${n} run${n === 1 ? '' : 's'}`;
  const skipped = result.skipped.length;
  const counts = `${result.alreadyPresent} already there, ${skipped} damaged shard${skipped === 1 ? '' : 's'} skipped`;
  const line =
    result.studyId === null
      ? `Added ${runs(result.added)} (${counts}); no study was stored in ${result.db}.`
      : `Added ${runs(result.added)} (${counts}) to study ${result.studyId} in ${result.db}.`;
  if (!result.notFinished) return line;
  const verb = result.notFinished === 1 ? 'is' : 'are';
  return `${line}\n${runs(result.notFinished)} of the study ${verb} not finished yet (\`mixcd study-status ${dir}\`).`;
}
