import type { WriteStream } from 'node:tty';
import { styleText } from 'node:util';

type Color = 'red' | 'green' | 'yellow' | 'cyan' | 'dim';

/**
 * Colour only on a terminal that wants it: never when the stream is a pipe or a file, and never with
 * NO_COLOR, NODE_DISABLE_COLORS or TERM=dumb (Node's hasColors checks those; FORCE_COLOR forces it).
 */
function colorsOn(stream: NodeJS.WriteStream = process.stdout): boolean {
  return Boolean(stream.isTTY && (stream as WriteStream).hasColors?.());
}

export function paint(color: Color, text: string, stream: NodeJS.WriteStream = process.stdout): string {
  return colorsOn(stream) ? styleText(color, text) : text;
}

const STATUS_COLORS: Record<string, Color> = {
  completed: 'green',
  failed: 'red',
  terminated: 'red',
  timed_out: 'red',
  cancelled: 'yellow',
  canceled: 'yellow',
  waiting_input: 'cyan',
};

/** A run status, coloured by what it means to the operator (on a terminal). */
export function paintStatus(status: string, stream: NodeJS.WriteStream = process.stdout): string {
  // `waiting_input (in child …)` is painted as waiting_input
  const color = STATUS_COLORS[status.split(' ')[0]];
  return color ? paint(color, status, stream) : status;
}
