// The run history's public surface.
export {
  openHistory,
  openHistoryReadOnly,
  defaultHistoryPath,
  History,
  APP_DATA_FOLDER,
  HISTORY_FILE,
  BUSY_TIMEOUT_MS,
} from './database.js';
export { HistoryError, type HistoryErrorCode } from './errors.js';
export { MIGRATIONS, LATEST_SCHEMA_VERSION, migrate, type Migration } from './migrations.js';
export {
  INTERRUPTED_ERROR,
  TERMINAL_STATUSES,
  type TerminalStatus,
  type CreateRunInput,
  type StartInfo,
  type FinishInput,
  type RunFilter,
} from './runs.js';
export type { SampleRehearsals, ProbeSnapshot } from './telemetry.js';
export type { StudyRecord } from './studies.js';
