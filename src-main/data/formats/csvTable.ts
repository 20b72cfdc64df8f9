// CSV / TSV tables, streamed with csv-parse straight into the final typed arrays: the file's lines
// are counted first (memchr speed), so the arrays are allocated once at their final size, uint8
// for declared pixel columns and float32 otherwise; each record is consumed in csv-parse's
// `on_record` hook and dropped, so no row outlives its parse. Peak memory is about the typed
// arrays plus the runtime (the previous loader grew float32 buffers by doubling and narrowed them
// at the end: 11x the typed arrays; it is kept as bench/csvReference.ts).
// Columns: one label column (names or integers), an optional group and id column, every other
// column a numeric feature (or a pixel, with a declared height x width x channels).
import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { DataError } from '../dataset.js';
import { parseDecimal } from './decimal.js';
import { countLines } from './lineCount.js';
import { TextIds, type RawSplit } from './rawSplit.js';

export interface CsvOptions {
  delimiter: ',' | '\t';
  labelColumn: string;
  groupColumn?: string;
  idColumn?: string;
  /** [h, w, c] of the feature columns; else 1 x D x 1. */
  shape?: [number, number, number];
}

interface Columns {
  header: string[];
  labelAt: number;
  groupAt: number;
  featureAt: Int32Array;
}

const INTEGER = /^-?\d+$/;

/** Where each column is, from the header record; the header's own errors. */
function columnsOf(header: string[], file: string, options: CsvOptions): Columns {
  const labelAt = header.indexOf(options.labelColumn);
  if (labelAt < 0)
    throw new DataError(
      `${file} has no label column "${options.labelColumn}" (its header is ${header.join(', ')}); ` +
        `name the label column "label" or set "labelColumn" in dataset.json.`,
      file,
    );
  let groupAt = -1;
  if (options.groupColumn !== undefined) {
    groupAt = header.indexOf(options.groupColumn);
    if (groupAt < 0)
      throw new DataError(
        `${file} has no group column "${options.groupColumn}" (its header is ${header.join(', ')}); ` +
          `fix "groupColumn" in dataset.json or add the column.`,
        file,
      );
  }
  const idAt = options.idColumn === undefined ? -1 : header.indexOf(options.idColumn);
  if (options.idColumn !== undefined && idAt < 0)
    throw new DataError(
      `${file} has no id column "${options.idColumn}" (its header is ${header.join(', ')}); ` +
        `fix "idColumn" in dataset.json.`,
      file,
    );
  const featureAt = Int32Array.from(
    header.map((_, i) => i).filter((i) => i !== labelAt && i !== groupAt && i !== idAt),
  );
  if (featureAt.length === 0)
    throw new DataError(`${file} has no feature columns besides the label; add numeric columns.`, file);
  if (options.shape) {
    const [h, w, c] = options.shape;
    if (h * w * c !== featureAt.length)
      throw new DataError(
        `${file} has ${featureAt.length} feature columns but the declared shape ` +
          `${h}x${w}x${c} needs ${h * w * c}; fix "shape" in dataset.json.`,
        file,
      );
  }
  return { header, labelAt, groupAt, featureAt };
}

/** A copy of `a` with room for `length` entries (only when the line count was too low). */
function grown<T extends Uint8Array | Float32Array | Int32Array>(a: T, length: number): T {
  const next = new (a.constructor as new (n: number) => T)(length);
  next.set(a);
  return next;
}

/**
 * The rows of one table as compact typed arrays. Declared pixel columns (`shape`) are stored as
 * uint8 while every value is a whole number 0..255; the first value that is not switches the
 * split to float32 (as the previous loader decided after the fact), so the same file gives the
 * same arrays and fingerprint as before. Without `shape` the features are float32 from the start.
 */
class TableSink {
  count = 0;
  private capacity: number;
  private width = 0;
  private images: Uint8Array | null = null;
  private values: Float32Array | null = null;
  private labels: Int32Array;
  private groups: Int32Array | null = null;
  /** Indices of "-0" stored as uint8 0: restored if the split turns float (float32 keeps the sign). */
  private negativeZeros: number[] = [];
  readonly labelIds = new TextIds();
  readonly groupIds = new TextIds();
  textLabels: boolean | null = null;
  columns: Columns | null = null;

  constructor(
    private readonly file: string,
    private readonly options: CsvOptions,
    rowsExpected: number,
  ) {
    this.capacity = Math.max(1, rowsExpected);
    this.labels = new Int32Array(this.capacity);
  }

  /**
   * csv-parse's on_record hook: consumes one record and returns null so it is not kept.
   */
  record(record: string[], line: number): null {
    const { file } = this;
    if (!this.columns) {
      this.columns = columnsOf(record, file, this.options);
      this.width = this.columns.featureAt.length;
      const size = this.capacity * this.width;
      if (this.options.shape) this.images = new Uint8Array(size);
      else this.values = new Float32Array(size);
      if (this.columns.groupAt >= 0) this.groups = new Int32Array(this.capacity);
      return null;
    }
    const { header, labelAt, groupAt, featureAt } = this.columns;
    if (record.length !== header.length)
      throw new DataError(
        `${file} line ${line} has ${record.length} fields but the header ` +
          `has ${header.length}; fix the ragged row.`,
        file,
      );
    if (this.count === this.capacity) this.grow();
    const row = this.count;
    const labelText = record[labelAt];
    if (labelText === '') throw new DataError(`${file} line ${line} has an empty label; give every row a label.`, file);
    const isInt = INTEGER.test(labelText);
    if (this.textLabels === null) this.textLabels = !isInt;
    if (this.textLabels) this.labels[row] = this.labelIds.id(labelText);
    else if (!isInt || Number(labelText) < 0 || Number(labelText) > 255)
      throw new DataError(
        `${file} line ${line} has label "${labelText}" but the labels above ` +
          `it are integers 0..255; use one kind of label throughout.`,
        file,
      );
    else this.labels[row] = Number(labelText);
    if (groupAt >= 0) this.groups![row] = this.groupIds.id(record[groupAt]);
    const width = this.width;
    const at = row * width;
    for (let k = 0; k < width; k++) {
      const field = record[featureAt[k]];
      const v = parseDecimal(field);
      if (!Number.isFinite(v))
        throw new DataError(
          `${file} line ${line} column "${header[featureAt[k]]}" has "${field}", which ` +
            `is not a number; fix the value or declare the column as "idColumn"/"groupColumn".`,
          file,
        );
      const images = this.images;
      if (images !== null && v >= 0 && v <= 255 && Number.isInteger(v)) {
        images[at + k] = v;
        if (v === 0 && 1 / v < 0) this.negativeZeros.push(at + k);
      } else {
        if (images !== null) this.toFloat(at + k);
        this.values![at + k] = v;
      }
    }
    this.count++;
    return null;
  }

  /** Pixel columns that hold a value other than 0..255: the split becomes float32 from here on. */
  private toFloat(filled: number): void {
    const values = new Float32Array(this.capacity * this.width);
    values.set(this.images!.subarray(0, filled));
    for (const i of this.negativeZeros) values[i] = -0;
    this.values = values;
    this.images = null;
    this.negativeZeros = [];
  }

  /** More rows than lines counted: only with odd line ends (records split by a lone \r beside a \n). */
  private grow(): void {
    this.capacity = Math.ceil(this.capacity * 1.25) + 16;
    this.labels = grown(this.labels, this.capacity);
    if (this.groups) this.groups = grown(this.groups, this.capacity);
    if (this.images) this.images = grown(this.images, this.capacity * this.width);
    if (this.values) this.values = grown(this.values, this.capacity * this.width);
  }

  /** The filled parts; a copy only when blank lines or quoted line breaks left rows unused. */
  take(): { images?: Uint8Array; values?: Float32Array; labels: Int32Array; groups?: Int32Array } {
    const exact = this.count === this.capacity;
    const fit = <T extends Uint8Array | Float32Array | Int32Array>(a: T, n: number): T =>
      exact ? a : (a.slice(0, n) as T);
    const size = this.count * this.width;
    return {
      images: this.images ? fit(this.images, size) : undefined,
      values: this.values ? fit(this.values, size) : undefined,
      labels: fit(this.labels, this.count),
      groups: this.groups ? fit(this.groups, this.count) : undefined,
    };
  }
}

export async function loadCsvSplit(file: string, options: CsvOptions): Promise<RawSplit> {
  // Loaded here, not with the module: most processes that import the loaders never read a table.
  const { parse } = await import('csv-parse');
  let sink: TableSink;
  try {
    // Every line but the header is at most one row.
    sink = new TableSink(file, options, (await countLines(file)) - 1);
    const parser = parse({
      delimiter: options.delimiter,
      bom: true,
      trim: true,
      skip_empty_lines: true,
      relax_column_count: true,
      // One call per record, no per-field callback; the record is dropped (null) once stored.
      on_record: (record: string[], context) => sink.record(record, context.lines),
    });
    await pipeline(createReadStream(file), parser, async (records) => {
      for await (const _ of records) void _;
    });
  } catch (error) {
    if (error instanceof DataError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new DataError(`${file} does not exist; check the path.`, file);
    throw new DataError(
      `${file} could not be parsed as ${options.delimiter === ',' ? 'CSV' : 'TSV'} ` +
        `(${(error as Error).message}); fix the file.`,
      file,
    );
  }
  const { count, columns } = sink;
  if (!columns || count === 0)
    throw new DataError(`${file} has no data rows; a header line and at least one row are needed.`, file);
  const shape: [number, number, number] = options.shape ?? [1, columns.featureAt.length, 1];
  const arrays = sink.take();
  return {
    count,
    shape,
    images: arrays.images,
    values: arrays.values,
    labels: arrays.labels,
    labelTexts: sink.textLabels ? sink.labelIds.texts : undefined,
    groups: arrays.groups,
    groupTexts: arrays.groups ? sink.groupIds.texts : undefined,
    files: [file],
  };
}
