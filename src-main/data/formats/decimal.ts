// Number(text) for the plain decimals CSV writers emit ("12", "-0.5", "3.25e-4"), faster than
// the generic conversion and exactly equal to it: a mantissa of at most 15 digits is an exact
// double, so is 10^k for k <= 22, and one IEEE multiply or divide of two exact doubles is
// correctly rounded, as Number() is (Clinger's fast path). Anything else (more digits, hex,
// "+1", " 1", "Infinity", ...) goes to Number() itself, so the result never differs from it.

const POW10 = Array.from({ length: 23 }, (_, k) => Number(`1e${k}`));

const DIGIT_0 = 48;
const MINUS = 45;
const PLUS = 43;
const DOT = 46;
const E_LOWER = 101;

/** Number(text), except that "" is NaN (a missing value, not 0). */
export function parseDecimal(text: string): number {
  const n = text.length;
  let i = 0;
  const negative = n > 0 && text.charCodeAt(0) === MINUS;
  if (negative) i = 1;
  let mantissa = 0;
  let digits = 0;
  let scale = 0;
  for (; i < n; i++) {
    const d = text.charCodeAt(i) - DIGIT_0;
    if (d < 0 || d > 9) break;
    mantissa = mantissa * 10 + d;
    digits++;
  }
  if (i < n && text.charCodeAt(i) === DOT) {
    for (i++; i < n; i++) {
      const d = text.charCodeAt(i) - DIGIT_0;
      if (d < 0 || d > 9) break;
      mantissa = mantissa * 10 + d;
      digits++;
      scale++;
    }
  }
  let exponent = 0;
  // `| 32` folds 'E' to 'e'.
  if (i < n && digits > 0 && (text.charCodeAt(i) | 32) === E_LOWER) {
    i++;
    const sign = i < n ? text.charCodeAt(i) : 0;
    if (sign === MINUS || sign === PLUS) i++;
    const from = i;
    for (; i < n && i - from < 4; i++) {
      const d = text.charCodeAt(i) - DIGIT_0;
      if (d < 0 || d > 9) break;
      exponent = exponent * 10 + d;
    }
    if (i === from) return Number(text);
    if (sign === MINUS) exponent = -exponent;
  }
  if (i !== n || digits === 0 || digits > 15) return n === 0 ? NaN : Number(text);
  const power = exponent - scale;
  let v: number;
  if (power === 0) v = mantissa;
  else if (power > 0 && power <= 22) v = mantissa * POW10[power];
  else if (power < 0 && power >= -22) v = mantissa / POW10[-power];
  else return Number(text);
  return negative ? -v : v;
}
