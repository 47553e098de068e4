// The layers of src/, bottom to top: a folder imports only folders below it, and no file imports itself
// back through others. `npm run lint:layers` runs it; test/layers/layers.test.ts runs it in the unit tier.
// docs/development.md ("Project layout") says what each folder is for and why it sits where it does.
// Type-only imports count like any other: a type from above is a concept living in the wrong folder.
// Workflows sit above activities so they can `import type` the activities' signatures (Temporal's
// pattern for proxyActivities); the test checks those imports stay type-only.

/** Bottom to top. The files at the top of src/ (index.ts, generated-docs.ts) sit above every folder. */
const LAYERS = [
  'config', // the environment the runtime reads, one schema
  'temporal', // connecting to Temporal: target, connection, dev server, search attribute keys
  'shapes', // pure shapes and types: the plan, the run, requests, messages, diagnostics codes
  'policies', // policy vocabulary and how each harness enforces it
  'sop', // the SOP format and its compiler (schema, checks, catalog, plan building, prices)
  'harnesses', // the harness interface (AgentRunner) and its implementations: Codex, Claude Code
  'forge', // the code host (GitHub) client
  'client', // starting and talking to runs through Temporal (SopClient)
  'activities', // the effects of a run: agent steps, workspaces, evidence files, events, approvals
  'workflows', // deterministic workflow code: the interpreter, the run, sensors
  'evidence', // evidence packs: writing, signing, verifying
  'triggers', // schedules, sensors and declared triggers
  'serve', // the webhook ingress (`sop serve`)
  'console', // the operator console on `sop serve` (/console) and the run view `sop runs show` shares
  'scripted-model', // the shipped scripted model server and MCP stand-ins
  'scripted-forge', // the shipped scripted GitHub stand-in
  'worker', // the worker: wires harnesses, activities and the workflow bundle
  'soptest', // `sop test`: SOP tests against the scripted model
  'cli', // the `sop` command
];

const folder = (name) => `^src/${name}/`;

/**
 * One rule per layer: its files import, in src/, only their own folder and the layers below it (not a
 * layer above, a folder with no layer, or a file at the top of src/).
 */
const upward = LAYERS.map((layer, i) => ({
  name: `layer-${layer}`,
  comment: `src/${layer}/ may import only ${i === 0 ? 'its own files' : `${LAYERS.slice(0, i).join(', ')} (the layers below it)`}; see LAYERS in .dependency-cruiser.cjs`,
  severity: 'error',
  from: { path: folder(layer) },
  to: { path: '^src/', pathNot: LAYERS.slice(0, i + 1).map(folder) },
}));

/** Folders of src/ the layer list does not place: a new folder must be given a layer. */
const unplaced = {
  name: 'layer-unplaced',
  comment: 'every folder of src/ has a place in LAYERS (.dependency-cruiser.cjs)',
  severity: 'error',
  from: { path: '^src/[^/]+/', pathNot: LAYERS.map(folder) },
  to: {},
};

module.exports = {
  forbidden: [
    ...upward,
    unplaced,
    {
      name: 'no-circular',
      comment: 'a file that imports itself back through others: move the shared part into a file both import',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    // TypeScript 7 has no JavaScript API for dependency-cruiser; swc parses the sources instead.
    parser: 'swc',
    doNotFollow: { path: 'node_modules' },
    exclude: { path: 'node_modules' },
    moduleSystems: ['es6', 'cjs'],
    enhancedResolveOptions: { extensions: ['.ts', '.js', '.json'] },
  },
};
