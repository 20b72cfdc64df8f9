// The host's run API as the Slurm array task uses it: the CLI as a client of the in-process host
// (trainer processes, one writer, checkpoints; SIGTERM = checkpoint + stored cancelled).
export { runConfigs, resumeRuns, stopRequested, type HostRunOptions } from '../cli/hostRun.js';
