// Studies: named groups of runs (e.g. one sweep). Deleting a study keeps its runs (study_id -> NULL).
import type Database from 'better-sqlite3';
import { HistoryError } from './errors.js';

export interface StudyRecord<C = unknown> {
  id: number;
  name: string;
  createdAt: string;
  /** Whatever the caller stored (the study's sweep definition), parsed from JSON. */
  config: C;
}

interface StudyRow {
  id: number;
  name: string;
  created_at: string;
  config_json: string;
}

const toRecord = <C>(r: StudyRow): StudyRecord<C> => ({
  id: r.id,
  name: r.name,
  createdAt: r.created_at,
  config: JSON.parse(r.config_json) as C,
});

export class StudiesStore {
  private readonly insert: Database.Statement;
  private readonly select: Database.Statement<[number], StudyRow>;
  private readonly selectAll: Database.Statement<[], StudyRow>;
  private readonly remove: Database.Statement;

  constructor(db: Database.Database) {
    this.insert = db.prepare('INSERT INTO studies (name, created_at, config_json) VALUES (?, ?, ?)');
    this.select = db.prepare('SELECT id, name, created_at, config_json FROM studies WHERE id = ?');
    this.selectAll = db.prepare(
      'SELECT id, name, created_at, config_json FROM studies ORDER BY created_at DESC, id DESC',
    );
    this.remove = db.prepare('DELETE FROM studies WHERE id = ?');
  }

  create(name: string, config: unknown): number {
    if (typeof name !== 'string' || name.trim().length === 0)
      throw new HistoryError('A study needs a non-empty name.', 'invalid-input');
    const json = JSON.stringify(config ?? null);
    if (json === undefined)
      throw new HistoryError(`The config of study "${name}" cannot be stored as JSON.`, 'invalid-input');
    return Number(this.insert.run(name.trim(), new Date().toISOString(), json).lastInsertRowid);
  }

  get<C = unknown>(id: number): StudyRecord<C> | null {
    const row = this.select.get(id);
    return row ? toRecord<C>(row) : null;
  }

  list<C = unknown>(): StudyRecord<C>[] {
    return this.selectAll.all().map((r) => toRecord<C>(r));
  }

  delete(id: number): void {
    if (this.remove.run(id).changes === 0)
      throw new HistoryError(`Cannot delete study ${id}: there is no such study in the history.`, 'unknown-study');
  }
}
