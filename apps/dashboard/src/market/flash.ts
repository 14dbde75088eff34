export type Direction = 'up' | 'down';

/** Which way a price moved; undefined when it did not (no flash). */
export function directionOf(previous: number | undefined, next: number): Direction | undefined {
  if (previous === undefined || previous === next) return undefined;
  return next > previous ? 'up' : 'down';
}

/**
 * The CSS class that flashes a price cell. Two classes per direction with the same animation
 * under two names: alternating them restarts the animation on every change without
 * re-mounting the cell. Only the background colour animates, never the size.
 */
export function flashClass(direction: Direction | undefined, changes: number): string {
  return direction ? `flash-${direction}-${changes % 2}` : '';
}
