// The scenario file's JSON Schema for editors, generated from the zod schema (zod 4's toJSONSchema).
import { z } from 'zod';
import { scenarioSpecSchema } from './scenarioFile.js';

export function scenarioJsonSchema(): string {
  const schema = z.toJSONSchema(scenarioSpecSchema, { io: 'input', target: 'draft-2020-12' });
  return JSON.stringify({ ...schema, title: 'mix-cd workbench scenario file' }, null, 2);
}
