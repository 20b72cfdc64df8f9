// The compact CSV / TSV loader against the previous one (bench/csvReference.ts, unchanged since
// fef1a03): every table here, valid or malformed, must give byte-identical splits (so identical
// fingerprints) or the identical error sentence, both with numeric fields parsed from csv-parse's
// bytes and through strings. And the number parsers must equal Number() exactly.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadCsvSplitReference } from '../../bench/csvReference.js';
import { DataError } from '../../src-main/data/dataset.js';
import { loadDeclaredDataset, resolveDataset } from '../../src-main/data/declared.js';
import { loadCsvSplit, type CsvOptions } from '../../src-main/data/formats/csvTable.js';
import { parseDecimal } from '../../src-main/data/formats/decimal.js';
import { countLines } from '../../src-main/data/formats/lineCount.js';
import { mulberry32 } from '../../src-main/data/mulberry32.js';

const root = mkdtempSync(join(tmpdir(), 'mixcd-csv-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let files = 0;

function put(content: string | Uint8Array): string {
  const file = join(root, `t${files++}.csv`);
  writeFileSync(file, content);
  return file;
}

const csv = (extra: Partial<CsvOptions> = {}): CsvOptions => ({ delimiter: ',', labelColumn: 'label', ...extra });

/** What a load gives: the split with its arrays as plain bytes, or the error's sentence. */
async function outcome(load: () => Promise<unknown>): Promise<unknown> {
  try {
    const raw = (await load()) as Record<string, unknown>;
    const bytes = (a: unknown) =>
      a
        ? Array.from(
            new Uint8Array((a as Uint8Array).buffer, (a as Uint8Array).byteOffset, (a as Uint8Array).byteLength),
          )
        : a;
    return {
      ...raw,
      images: bytes(raw.images),
      values: bytes(raw.values),
      labels: bytes(raw.labels),
      groups: bytes(raw.groups),
      kinds: [raw.images?.constructor.name, raw.values?.constructor.name, raw.labels?.constructor.name],
      lengths: ['images', 'values', 'labels', 'groups'].map((k) => (raw[k] as Uint8Array | undefined)?.length),
    };
  } catch (error) {
    expect(error).toBeInstanceOf(DataError);
    return { error: (error as Error).message };
  }
}

/** The current loader equals the previous one on `file`; returns the outcome. */
async function sameAsBefore(file: string, options: CsvOptions): Promise<unknown> {
  const before = await outcome(() => loadCsvSplitReference(file, options));
  expect(await outcome(() => loadCsvSplit(file, options))).toEqual(before);
  return before;
}

describe('parseDecimal', () => {
  const samples: string[] = [
    ...['', '-', '.', '-.', '+', 'e5', '1e', '1e+', '-e1', '.e1', '1.e2', '.5', '5.', '-.5', '-0', '0', '-0.0', '00'],
    ...['007', '+5', ' 5', '5 ', '0x1F', '0b11', '0o7', '1_000', 'Infinity', '-Infinity', 'NaN', '1e400', '1e-400'],
    ...['9007199254740993', '123456789012345', '1234567890123456', '0.1', '0.2', '0.3', '1E5', '1e+05', '2.5E-3'],
    ...['3.4028235e38', '1.17549435e-38', '1e22', '1e23', '1e-22', '1e-23', '123456789012345e7', '１２', '٣'],
  ];
  const rand = mulberry32(7);
  const digits = (n: number) => Array.from({ length: n }, () => Math.floor(rand() * 10)).join('');
  for (let i = 0; i < 20000; i++) {
    const sign = rand() < 0.3 ? '-' : '';
    const int = digits(Math.floor(rand() * 9));
    const frac = rand() < 0.6 ? '.' + digits(Math.floor(rand() * 12)) : '';
    const exp =
      rand() < 0.3
        ? (rand() < 0.5 ? 'e' : 'E') + ['', '-', '+'][Math.floor(rand() * 3)] + digits(1 + Math.floor(rand() * 2))
        : '';
    samples.push(sign + int + frac + exp);
    samples.push(String(Math.fround((rand() - 0.5) * 10 ** Math.floor(rand() * 12 - 6))));
  }

  it('equals Number() exactly (sign of zero included), with "" as NaN', () => {
    for (const s of samples) {
      const want = s === '' ? NaN : Number(s);
      expect(Object.is(parseDecimal(s), want), s).toBe(true);
    }
  });
});

describe('countLines', () => {
  it('counts lines ended by \\n, \\r\\n or a lone \\r, and a last line without an end', async () => {
    expect(await countLines(put(''))).toBe(0);
    expect(await countLines(put('a'))).toBe(1);
    expect(await countLines(put('a\nb\n'))).toBe(2);
    expect(await countLines(put('a\r\nb'))).toBe(2);
    expect(await countLines(put('a\rb\rc\r'))).toBe(3);
    expect(await countLines(put('x\n'.repeat(3 << 20)))).toBe(3 << 20);
  });
});

describe('CSV loader: the same splits and sentences as the previous loader', () => {
  const shape: [number, number, number] = [1, 3, 1];

  it('pixel columns (uint8), float features, text labels, group and id columns, TSV', async () => {
    const pixels = put('label,a,b,c\n0,0,255,7\n1,1,2,3\n9,10,20,30\n');
    const px = (await sameAsBefore(pixels, csv({ shape }))) as Record<string, unknown>;
    expect(px.kinds).toEqual(['Uint8Array', undefined, 'Int32Array']);
    expect(px.images).toEqual([0, 255, 7, 1, 2, 3, 10, 20, 30]);
    // The same file without a declared shape: float features.
    const floats = (await sameAsBefore(pixels, csv())) as Record<string, unknown>;
    expect(floats.kinds).toEqual([undefined, 'Float32Array', 'Int32Array']);
    const table = put('id,label,site,x,y\nr1,walk,north,0.5,-1.25\nr2,run,south,1e-3,3.5E2\nr3,walk,north,-0,2\n');
    const t = (await sameAsBefore(table, csv({ groupColumn: 'site', idColumn: 'id' }))) as Record<string, unknown>;
    expect(t.labelTexts).toEqual(['walk', 'run']);
    expect(t.groupTexts).toEqual(['north', 'south']);
    const tsv = put('label\tp0\tp1\tp2\n3\t1\t2\t3\n4\t4\t5\t6\n');
    await sameAsBefore(tsv, { delimiter: '\t', labelColumn: 'label', shape });
    await sameAsBefore(put('label\tf\tname\n1\t0.5\tx y\n'), {
      delimiter: '\t',
      labelColumn: 'label',
      idColumn: 'name',
    });
  });

  it('declared pixel columns that hold other values become float32, keeping "-0"', async () => {
    // The first non-pixel value comes late (row 3), after a "-0" that uint8 cannot hold.
    const late = put('label,a,b,c\n0,1,-0,3\n1,4,5,6\n2,7,8,0.5\n3,300,1,2\n');
    const r = (await sameAsBefore(late, csv({ shape }))) as Record<string, unknown>;
    expect(r.kinds).toEqual([undefined, 'Float32Array', 'Int32Array']);
    await sameAsBefore(put('label,a,b,c\n0,1,2,-1\n'), csv({ shape }));
    await sameAsBefore(put('label,a,b,c\n0,1,2,3\n0,1,2,256\n'), csv({ shape }));
  });

  it('quotes, spaces, CRLF and lone CR, a BOM, blank lines, no final newline, long and odd numbers', async () => {
    const cases = [
      'label,a,b,c\r\n0,1,2,3\r\n1,4,5,6\r\n',
      'label,a,b,c\r0,1,2,3\r1,4,5,6',
      // Records end in a lone \r but the file also holds a \n: more rows than counted lines (growth).
      'label,a,b,c\r' + '0,1,2,3\r'.repeat(40) + '1,4,5,6\n',
      '\ufefflabel,a,b,c\n0,1,2,3\n',
      'label,a,b,c\n\n0,1,2,3\n\n\n1,4,5,6\n\n',
      'label,a,b,c\n0,1,2,3',
      'label,a,b,c\n"0","1",2," 3"\n1, 4 ,5 ,6\n',
      '"label","a","b","c"\n0,"1\n",2,3\n1,"4",5,6\n',
      'label,a,b,c\n0,0.1234567890123456789,+7,0x10\n1,1e30,-1e-30,12345678901234567890\n',
      'label,a,b,c\n0,1.5,2.25,3\n1,Infinity,1,1\n',
    ];
    for (const text of cases) {
      await sameAsBefore(put(text), csv());
      await sameAsBefore(put(text), csv({ shape }));
    }
  });

  it('the same sentence for each malformed table (with its file and line)', async () => {
    const bad = [
      'label,a,b\n0,1,2\n1,3\n',
      'label,a,b\n0,1,2\n1,3,4,5\n',
      'label,a,b\n0,1,2\n1,3,x\n',
      'label,a,b\n0,1,\n',
      'y,a\n0,1\n',
      'label,a\n0,1\ncat,2\n',
      'label,a\n0,1\n256,2\n',
      'label,a\n,1\n',
      'label,a\n',
      '',
      'label\n0\n',
      'label,a\n0,"1\n',
    ];
    for (const text of bad) {
      const r = (await sameAsBefore(put(text), csv())) as { error?: string };
      expect(r.error, text).toMatch(/^.+\.$/);
    }
    const missing = (await sameAsBefore(put('label,a,b\n0,1,2\n'), csv({ groupColumn: 'g' }))) as { error: string };
    expect(missing.error).toMatch(/has no group column "g"/);
    await sameAsBefore(put('label,a,b\n0,1,2\n'), csv({ idColumn: 'id' }));
    await sameAsBefore(put('label,a,b\n0,1,2\n'), csv({ shape: [2, 2, 1] }));
    // (The previous loader never settles here: its read stream's ENOENT does not pass through pipe().)
    const gone = await outcome(() => loadCsvSplit(join(root, 'no-such.csv'), csv()));
    expect(gone).toEqual({ error: `${join(root, 'no-such.csv')} does not exist; check the path.` });
  });

  it('the shipped sensors CSV (text labels, group and id columns) gives the same splits', async () => {
    const dir = join(__dirname, '../../examples/data/sensors');
    const options = csv({ labelColumn: 'activity', groupColumn: 'site', idColumn: 'id' });
    for (const name of ['train.csv', 'test.csv']) {
      const r = (await sameAsBefore(join(dir, name), options)) as { count: number; groupTexts: string[] };
      expect(r.count).toBeGreaterThan(0);
      expect(r.groupTexts.length).toBeGreaterThan(1);
    }
  });

  it('a bigger generated table: the same arrays, and a dataset fingerprint that follows them', async () => {
    const rand = mulberry32(3);
    const lines = ['label,' + Array.from({ length: 50 }, (_, k) => `p${k}`).join(',')];
    for (let i = 0; i < 3000; i++)
      lines.push(`${i % 10},${Array.from({ length: 50 }, () => Math.floor(rand() * 256)).join(',')}`);
    const file = put(lines.join('\n') + '\n');
    await sameAsBefore(file, csv({ shape: [5, 10, 1] }));
    const dir = join(root, 'dataset');
    mkdirSync(dir);
    writeFileSync(join(dir, 'train.csv'), lines.join('\n') + '\n');
    writeFileSync(
      join(dir, 'dataset.json'),
      JSON.stringify({ name: 'g', format: 'csv', splits: { train: 'train.csv' }, shape: [5, 10, 1] }),
    );
    const a = await loadDeclaredDataset(resolveDataset(dir));
    lines[1500] = lines[1500].replace(/,(\d+)$/, (_, v: string) => `,${(Number(v) + 1) % 256}`);
    writeFileSync(join(dir, 'train.csv'), lines.join('\n') + '\n');
    const b = await loadDeclaredDataset(resolveDataset(dir));
    expect(a.splits.train.count).toBe(3000);
    expect(b.fingerprint).not.toBe(a.fingerprint);
  });
});
