// The CSV / TSV loader as it was at fef1a03 (before the compact rewrite in src-main/data/formats/),
// kept verbatim as a reference: the bench (`--only data`) measures it beside the current loader in
// the same run, and test/unit/csvLoader.test.ts checks that both give byte-identical splits (so the
// fingerprints are unchanged). It grows float32 buffers by doubling and narrows pixels at the end,
// which is why its peak memory is ~11x the typed arrays. Do not use it for loading.
import { createReadStream } from 'node:fs';
import { parse } from 'csv-parse';
import { DataError } from '../src-main/data/dataset.js';
import type { CsvOptions } from '../src-main/data/formats/csvTable.js';
import { TextIds, type RawSplit } from '../src-main/data/formats/rawSplit.js';

/** A typed array that doubles as rows stream in, so a big CSV needs about its final size (x2 at worst). */
class GrowableFloat32 {
  private data = new Float32Array(1 << 16);
  length = 0;

  push(v: number): void {
    if (this.length === this.data.length) {
      const next = new Float32Array(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[this.length++] = v;
  }

  /** The filled part, trimmed to its length. */
  take(): Float32Array {
    return this.data.slice(0, this.length);
  }
}

class GrowableInt32 {
  private data = new Int32Array(1 << 12);
  length = 0;

  push(v: number): void {
    if (this.length === this.data.length) {
      const next = new Int32Array(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[this.length++] = v;
  }

  take(): Int32Array {
    return this.data.slice(0, this.length);
  }
}

interface Row {
  record: string[];
  info: { lines: number };
}

const INTEGER = /^-?\d+$/;

export async function loadCsvSplitReference(file: string, options: CsvOptions): Promise<RawSplit> {
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
