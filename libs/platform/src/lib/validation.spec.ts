import type { ValidationError } from '@nestjs/common';
import { fieldErrors } from './validation';

describe('fieldErrors', () => {
  it('names nested fields with dotted paths and keeps every reason', () => {
    const errors: ValidationError[] = [
      { property: 'price', constraints: { isNumber: 'price must be a finite number' }, children: [] },
      {
        property: 'meta',
        children: [{ property: 'venue', constraints: { isString: 'venue must be a string' }, children: [] }],
      },
      { property: 'extra', constraints: { whitelistValidation: 'property extra should not exist' }, children: [] },
    ];
    expect(fieldErrors(errors)).toEqual([
      { field: 'price', reason: 'price must be a finite number' },
      { field: 'meta.venue', reason: 'venue must be a string' },
      { field: 'extra', reason: 'extra is not an allowed property' },
    ]);
  });
});
