// Where an execution's files live in the run folder: one concept, shared by the activities that write them
// and by `sop verify --against-history`, which finds in history the lines and records they must match.

/** A worklist item id or a step name made safe for a folder name. */
export function safeName(value: string): string {
  return value.replace(/[^\w.-]+/g, '_').slice(0, 80);
}

/** `<step>/[<item>/]<execution>-<role>-a<attempt>-l<launch>`: one folder per harness launch (under `steps/`). */
export function executionFolder(
  request: { step: string; role: string; attempt: number; item?: { id: string } },
  execution: number,
  launch: number,
): string {
  const item = request.item ? `${safeName(request.item.id)}/` : '';
  return `${request.step}/${item}${String(execution).padStart(4, '0')}-${request.role}-a${request.attempt}-l${launch}`;
}
