// One way to turn anything thrown into the sentence a user reads: an Error's message, or the
// thrown value as text (a string thrown by a library, a rejected non-Error).
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
