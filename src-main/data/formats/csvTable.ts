// CSV / TSV tables, streamed row by row with csv-parse into growing typed arrays, so a file of
// any size needs about its samples' typed-array size (never a string per cell for the whole file).
// Columns: one label column (names or integers), an optional group and id column, every other
// column a numeric feature (or a pixel, with a declared height x width x channels).
import { createReadStream } from 'node:fs';
import { parse } from 'csv-parse';
import { DataError } from '../dataset.js';
import { GrowableFloat32, GrowableInt32, TextIds, type RawSplit } from './rawSplit.js';

export interface CsvOptions {
  delimiter: ',' | '\t';
  labelColumn: string;
  groupColumn?: string;
  idColumn?: string;
  /** [h, w, c] of the feature columns; else 1 x D x 1. */
  shape?: [number, number, number];
}

interface Row {
  record: string[];
  info: { lines: number };
}

const INTEGER = /^-?\d+$/;

export async function loadCsvSplit(file: string, options: CsvOptions): Promise<RawSplit> {
  const parser = createReadStream(file).pipe(
    parse({
      delimiter: options.delimiter,
      bom: true,
      trim: true,
      skip_empty_lines: true,
      relax_column_count: true,
      info: true,
    }),
  );
  let header: string[] | null = null;
  let labelAt = -1;
  let groupAt = -1;
  let featureAt: number[] = [];
  const values = new GrowableFloat32();
  const labels = new GrowableInt32();
  const groups = new GrowableInt32();
  const labelIds = new TextIds();
  const groupIds = new TextIds();
  let textLabels: boolean | null = null;
  let allPixels = true;
  let count = 0;
  try {
    for await (const row of parser as AsyncIterable<Row>) {
      const { record, info } = row;
      if (!header) {
        header = record;
        labelAt = header.indexOf(options.labelColumn);
        if (labelAt < 0)
          throw new DataError(
            `${file} has no label column "${options.labelColumn}" (its header is ${header.join(', ')}); ` +
              `name the label column "label" or set "labelColumn" in dataset.json.`,
            file,
          );
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
        featureAt = header.map((_, i) => i).filter((i) => i !== labelAt && i !== groupAt && i !== idAt);
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
        continue;
      }
      if (record.length !== header.length)
        throw new DataError(
          `${file} line ${info.lines} has ${record.length} fields but the header ` +
            `has ${header.length}; fix the ragged row.`,
          file,
        );
      const labelText = record[labelAt];
      if (labelText === '')
        throw new DataError(`${file} line ${info.lines} has an empty label; give every row a label.`, file);
      const isInt = INTEGER.test(labelText);
      if (textLabels === null) textLabels = !isInt;
      if (textLabels) labels.push(labelIds.id(labelText));
      else if (!isInt || Number(labelText) < 0 || Number(labelText) > 255)
        throw new DataError(
          `${file} line ${info.lines} has label "${labelText}" but the labels above ` +
            `it are integers 0..255; use one kind of label throughout.`,
          file,
        );
      else labels.push(Number(labelText));
      if (groupAt >= 0) groups.push(groupIds.id(record[groupAt]));
      for (const i of featureAt) {
        const text = record[i];
        const v = text === '' ? NaN : Number(text);
        if (!Number.isFinite(v))
          throw new DataError(
            `${file} line ${info.lines} column "${header[i]}" has "${text}", which ` +
              `is not a number; fix the value or declare the column as "idColumn"/"groupColumn".`,
            file,
          );
        if (allPixels && !(Number.isInteger(v) && v >= 0 && v <= 255)) allPixels = false;
        values.push(v);
      }
      count++;
    }
  } catch (error) {
    parser.destroy();
    if (error instanceof DataError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new DataError(`${file} does not exist; check the path.`, file);
    throw new DataError(
      `${file} could not be parsed as ${options.delimiter === ',' ? 'CSV' : 'TSV'} ` +
        `(${(error as Error).message}); fix the file.`,
      file,
    );
  }
  if (!header || count === 0)
    throw new DataError(`${file} has no data rows; a header line and at least one row are needed.`, file);
  const shape: [number, number, number] = options.shape ?? [1, featureAt.length, 1];
  const all = values.take();
  // Declared pixel columns of whole numbers 0..255 are pixels (uint8, scaled by the model);
  // anything else stays float and reaches the model as it is.
  const pixels = options.shape !== undefined && allPixels;
  return {
    count,
    shape,
    images: pixels ? Uint8Array.from(all) : undefined,
    values: pixels ? undefined : all,
    labels: labels.take(),
    labelTexts: textLabels ? labelIds.texts : undefined,
    groups: groupAt >= 0 ? groups.take() : undefined,
    groupTexts: groupAt >= 0 ? groupIds.texts : undefined,
    files: [file],
  };
}
