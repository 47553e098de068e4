// Bounds on what an SOP's YAML may cost to load (alias bombs, deep nesting, huge files): beyond them the
// file is refused with a coded, located diagnostic before it can exhaust memory or the stack.

export const YAML_LIMITS = {
  /** bytes of one sop.yaml or sop.config.yaml */
  bytes: 1024 * 1024,
  /** levels of nested mappings and sequences */
  depth: 64,
  /** values that aliases add to the document when expanded */
  aliasValues: 10_000,
} as const;
