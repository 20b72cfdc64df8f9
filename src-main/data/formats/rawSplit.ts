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

/** A typed array that doubles as rows stream in, so a big CSV needs about its final size (x2 at worst). */
export class GrowableFloat32 {
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

export class GrowableInt32 {
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
