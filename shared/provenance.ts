// How a run's provenance reads, in one line: the CLI's `mixcd show` and the Monitor's run cards.
import type { Provenance } from './results.js';

export function provenanceLine(p: Provenance): string {
  const commit = p.gitCommit ? ` (commit ${p.gitCommit.slice(0, 10)})` : '';
  const shell = p.electron ? `, Electron ${p.electron}` : '';
  const backend = p.backend.version ? ` (${p.backend.version})` : '';
  const m = p.machine;
  return (
    `mix-cd workbench ${p.workbenchVersion}${commit}; Node ${p.node}${shell}; tfjs ${p.tfjs}; ` +
    `${p.backend.name}${backend} on ${p.backend.device}; ${m.hostname}: ${m.cpuModel}, ${m.cores} cores, ` +
    `${m.memoryGb} GB, ${m.platform}/${m.arch}`
  );
}
