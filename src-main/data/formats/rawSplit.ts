// What a format loader hands back before the dataset's class and group names are settled over
// all its splits: samples in compact typed arrays, labels as integers or as indices into the
// split's own list of label texts.
export interface RawSplit {
  count: number;
  shape: [number, number, number];
  images?: Uint8Array;
  values?: Float32Array;
  /** Integer labels as given, or indices into `labelTexts` when the labels were names. */
  labels: Int32Array;
  labelTexts?: string[];
  /** Indices into `groupTexts`. */
  groups?: Int32Array;
  groupTexts?: string[];
  /** Class names the source itself carries (folder names, CIFAR meta files). */
  classNames?: string[];
  /** The files read, in order (for messages and the fingerprint memo). */
  files: string[];
}

/** Interns texts to small integers in order of first appearance. */
export class TextIds {
  readonly texts: string[] = [];
  private readonly ids = new Map<string, number>();

  id(text: string): number {
    let id = this.ids.get(text);
    if (id === undefined) {
      id = this.texts.length;
      this.texts.push(text);
      this.ids.set(text, id);
    }
    return id;
  }
}
