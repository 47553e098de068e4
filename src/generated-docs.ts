// The parts of docs/ generated from the code: `npm run docs` (scripts/update-docs.js) writes them between
// their markers, and test/docs/generated.test.ts fails while one is stale.
import { envTables } from './config/env';
import { capabilityTable } from './policies/capabilities';
import { diagnosticTable } from './shapes/diagnostics';

export interface GeneratedPart {
  /** the page, relative to the repository root */
  file: string;
  /** the part sits between `<!-- MARKER:start ... -->` and `<!-- MARKER:end -->` */
  marker: string;
  generate(): string;
}

export const GENERATED: GeneratedPart[] = [
  { file: 'docs/sop-format.md', marker: 'error-codes', generate: diagnosticTable },
  { file: 'docs/harnesses.md', marker: 'capabilities', generate: capabilityTable },
  { file: 'docs/configuration.md', marker: 'env', generate: envTables },
];

/** The text between a part's markers in `text`, or undefined when the markers are missing. */
export function generatedSection(text: string, marker: string): string | undefined {
  const pattern = new RegExp(`<!-- ${marker}:start[^>]*-->\\n([\\s\\S]*?)<!-- ${marker}:end -->`);
  return pattern.exec(text)?.[1];
}
