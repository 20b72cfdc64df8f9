// The host's run API as the Slurm array task uses it (runConfigs, resumeRuns, stopRequested).
// Until src-main/cli/hostRun.ts is on main this is a local stand-in with the same signatures; when
// it lands, this one line becomes `from '../cli/hostRun.js'` and the stand-in files are deleted.
export { runConfigs, resumeRuns, stopRequested, type HostRunOptions } from './hostRunStub.js';
