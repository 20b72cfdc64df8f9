// One error type for the run history, so the CLI and the UI can tell "update the app" or
// "move this file away" apart from bugs without matching on message text.

export type HistoryErrorCode =
  /** The file exists but is not an SQLite database (or is damaged). It was left untouched. */
  | 'not-a-database'
  /** An SQLite database, but another program's: it has tables and no mix-cd migrations. */
  | 'foreign-database'
  /** Written by a newer mix-cd: its schema version is above what this code knows. */
  | 'newer-schema'
  | 'unknown-run'
  | 'unknown-study'
  /** The run's status does not allow this (e.g. adding points to a finished run). */
  | 'run-state'
  | 'invalid-input'
  /** A row for this key already exists (e.g. a second eval point at the same step). */
  | 'duplicate'
  /** A command that only reads was pointed at a file that does not exist (nothing was created). */
  | 'missing'
  /** SQLite's quick_check found damage, or a table the schema needs is gone. Nothing was written. */
  | 'damaged'
  /** The file (or its folder) cannot be opened or written by this user. */
  | 'unreadable';

export class HistoryError extends Error {
  constructor(
    message: string,
    readonly code: HistoryErrorCode,
    /** The database file, when the error is about the file itself. */
    readonly file?: string,
  ) {
    super(message);
    this.name = 'HistoryError';
  }
}

/** better-sqlite3's SqliteError carries the extended result code in `code`. */
export function sqliteCode(err: unknown): string | undefined {
  if (err && typeof err === 'object' && 'code' in err && typeof (err as { code: unknown }).code === 'string') {
    return (err as { code: string }).code;
  }
  return undefined;
}
