import { HttpStatus } from '@nestjs/common';
import { TickRules } from '@md/contracts';
import { FieldsException } from '@md/platform';

/** Reads a symbol id from the path: case-insensitive, validated like a tick's symbol. */
export function symbolOf(id: string): string {
  if (!TickRules.symbolPattern.test(id)) {
    throw new FieldsException(HttpStatus.BAD_REQUEST, 'validation failed', [
      { field: 'id', reason: 'id must be 1–32 characters of A-Z a-z 0-9 . _ : / -' },
    ]);
  }
  return id.toUpperCase();
}
