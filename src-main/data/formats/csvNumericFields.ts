// csv-parse makes a string of every field (Buffer#toString per field: about half its time on a
// table of numbers, and the strings are garbage a moment later). For the numeric columns this
// takes the field's bytes as csv-parse has gathered them and stores the number instead, when the
// bytes are a plain decimal (parseDecimalBytes: exactly Number() of the text); any other field,
// quoted ones and every non-numeric column go through csv-parse's own code unchanged. csv-parse
// still does all the tokenizing (quotes, delimiters, trimming, records, line numbers).
// This wraps a method of csv-parse's parser state that is not public API: package.json pins
// csv-parse exactly, the shape is checked before wrapping (else the loader runs unwrapped, only
// slower), and test/unit/csvLoader.test.ts checks the wrapped loader against the unwrapped one.
import type { Parser } from 'csv-parse';
import { parseDecimalBytes } from './decimal.js';

interface ParserApi {
  __onField(): unknown;
  options: { cast?: unknown; max_record_size?: unknown };
  state: {
    enabled: boolean;
    wasQuoting: boolean;
    record: unknown[];
    field: { buf: Uint8Array; length: number };
  };
}

function apiOf(parser: Parser): ParserApi | null {
  const api = (parser as unknown as { api?: Partial<ParserApi> }).api;
  const state = api?.state;
  const ok =
    typeof api?.__onField === 'function' &&
    // Without casting or a record size limit, a field's string is only pushed onto the record.
    api.options?.cast !== true &&
    !api.options?.max_record_size &&
    state !== undefined &&
    typeof state.enabled === 'boolean' &&
    typeof state.wasQuoting === 'boolean' &&
    Array.isArray(state.record) &&
    state.field?.buf instanceof Uint8Array &&
    typeof state.field.length === 'number';
  return ok ? (api as ParserApi) : null;
}

/**
 * From now on, fields in the columns `numeric()` marks (1 = numeric; null before the header is
 * read) reach on_record as numbers when their bytes are plain decimals, else as strings as usual.
 * Returns false, changing nothing, if this csv-parse does not have the expected internals.
 */
export function numericFieldsAsNumbers(parser: Parser, numeric: () => Uint8Array | null): boolean {
  const api = apiOf(parser);
  if (!api) return false;
  const original = api.__onField;
  const state = api.state;
  api.__onField = function onField(this: ParserApi) {
    const mask = numeric();
    if (mask !== null && state.enabled && !state.wasQuoting && mask[state.record.length] === 1) {
      const field = state.field;
      const v = parseDecimalBytes(field.buf, field.length);
      if (v === v) {
        // What csv-parse's own __onField ends with: store, then reset the field.
        state.record.push(v);
        field.length = 0;
        state.wasQuoting = false;
        return undefined;
      }
    }
    return original.call(this);
  };
  return true;
}
