// TEMPORARY: the child process of hostRunStub.ts (one run, recorded with its identity and
// provenance). Prints the run id on stdout as soon as the run exists. Delete with hostRunStub.ts.
import type { RunConfig } from '../../shared/config.js';
import { errorMessage } from '../../shared/errors.js';
import { ExperimentContext, runExperiment } from '../engine/experiment.js';
import { collectProvenance } from '../engine/provenance.js';
import { runIdentity } from '../engine/runIdentity.js';
import { openHistory } from '../store/database.js';
import type { HostRunOptions } from './hostRunStub.js';

const job = JSON.parse(process.argv[2]) as { config: RunConfig; resumeId?: number; options: HostRunOptions };
const history = openHistory(job.options.historyFile);
history.markInterruptedRuns();
let id: number;
if (job.resumeId) {
  id = job.resumeId;
  history.reopenRun(id);
  history.clearRunData(id);
} else id = history.createRun({ config: job.config, studyId: job.options.studyId ?? null, status: 'queued' });
process.stdout.write(`${id}\n`);
const started = performance.now();
try {
  const result = await runExperiment(job.config, new ExperimentContext({ cacheDir: job.options.cacheDir }), {
    onStart(info) {
      history.markRunning(id, {
        backend: info.backend.backend,
        device: info.backend.device,
        dataFingerprint: info.dataFingerprint,
        config: info.config,
        identity: job.resumeId ? undefined : runIdentity(job.config, info.dataFingerprint),
        provenance: collectProvenance(info.backend),
        startedAt: new Date().toISOString(),
      });
    },
    onEval(point, trace, probe) {
      history.appendEvalPoints(id, [point]);
      if (trace) history.appendBinTraces(id, [trace]);
      if (probe) history.saveProbeCategories(id, probe.step, probe.indices, probe.categories);
    },
  });
  history.saveSampleRehearsals(id, result.rehearsalCounts, result.rehearsalLog, result.rehearsalCategories);
  if (result.multiStage) history.saveStages(id, result.multiStage.stages, result.multiStage.continual);
  history.finishRun(id, {
    status: result.status,
    compute: result.compute,
    timing: result.timing,
    prior: result.prior,
    final: result.final,
  });
} catch (error) {
  const status = history.getRunStatus(id);
  if (status === 'queued' || status === 'running')
    history.finishRun(id, {
      status: 'failed',
      error: errorMessage(error),
      compute: {
        forwardPasses: 0,
        backwardPasses: 0,
        extraForwardPasses: 0,
        wallSeconds: (performance.now() - started) / 1000,
      },
    });
  process.stderr.write(`mixcd: ${errorMessage(error)}\n`);
  process.exitCode = 1;
} finally {
  history.close();
}
