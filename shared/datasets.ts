// Declared datasets: a named source with a format, its files per split, its sample shape, its
// class names and optionally a group column. The same schema checks a `dataset.json` on disk, the
// datasets a scenario file names, and what the New-run form sends; no Node imports here.
import { z } from 'zod';

export const DATASET_FORMATS = ['idx', 'csv', 'tsv', 'images', 'cifar10', 'cifar100', 'npy'] as const;
export type DatasetFormat = (typeof DATASET_FORMATS)[number];

/** A split's files, by format: one file or folder, several files, or named files. */
export const splitFilesSchema = z.union([
  z.string().min(1),
  z.array(z.string().min(1)).min(1),
  z.object({ images: z.string().min(1), labels: z.string().min(1) }).strict(),
  z.object({ x: z.string().min(1), y: z.string().min(1), group: z.string().min(1).optional() }).strict(),
]);
export type SplitFiles = z.infer<typeof splitFilesSchema>;

const dim = z.number().int().positive().max(4096);

export const datasetSpecSchema = z
  .object({
    name: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'letters, digits, dot, dash or underscore')
      .max(80),
    format: z.enum(DATASET_FORMATS),
    /** Paths relative to the dataset.json (or scenario file) that declares them. */
    splits: z
      .object({ train: splitFilesSchema, test: splitFilesSchema.optional() })
      .strict()
      .describe('files per split'),
    /** Class names in label order; when absent, classes are numbered (or, for text labels, sorted). */
    classNames: z.array(z.string().min(1)).min(1).max(256).optional(),
    /**
     * [height, width, channels] of a sample: required for CSV pixel columns (else a row of D values
     * is 1 x D x 1); for image folders the size every image is resized to (else all must match).
     */
    shape: z.tuple([dim, dim, z.number().int().min(1).max(4)]).optional(),
    /** CSV/TSV: the column holding the class (names or integers). */
    labelColumn: z.string().min(1).default('label'),
    /** CSV/TSV: the auxiliary group column (domain, source, language...) for mix-cd's `group` rule. */
    groupColumn: z.string().min(1).optional(),
    /** CSV/TSV: an id column, kept out of the features. */
    idColumn: z.string().min(1).optional(),
  })
  .strict();
export type DatasetSpec = z.infer<typeof datasetSpecSchema>;
export type DatasetSpecInput = z.input<typeof datasetSpecSchema>;

export interface SplitDescription {
  count: number;
  /** Samples per class, in class order. */
  perClass: number[];
  /** Samples per group name, when the data has groups. */
  perGroup?: Record<string, number>;
}

/** `mixcd datasets describe --json`: the names tools rely on come first. */
export interface DatasetDescription {
  name: string;
  format: DatasetFormat;
  count: number;
  numClasses: number;
  classNames: string[];
  /** [height, width, channels]. */
  sampleShape: [number, number, number];
  hasGroups: boolean;
  fingerprint: string;
  /** Where it was read from. */
  path: string;
  /** 'uint8' pixels (scaled by 1/255 for the model) or 'float32' values (used as they are). */
  valueType: 'uint8' | 'float32';
  groupNames?: string[];
  splits: Record<string, SplitDescription>;
}
