// Writes scenarios/scenario.schema.json (the JSON Schema editors use to check and complete
// scenario files) from the shared zod schema, so the two never drift: a unit test compares them.
// Run after `npm run build`: node scripts/scenario-schema.mjs
import { writeFileSync } from 'node:fs';
import { scenarioJsonSchema } from '../dist/shared/scenarioSchemaJson.js';

writeFileSync(new URL('../scenarios/scenario.schema.json', import.meta.url), scenarioJsonSchema() + '\n');
