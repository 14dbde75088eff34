import type { ValidationError } from '@nestjs/common';
import { Type } from 'class-transformer';
import { getMetadataStorage, IsNumber, IsString, ValidateNested } from 'class-validator';
import type { FieldsException } from './errors';
import { createValidationPipe, fieldErrors, MAX_NESTING, tooDeeplyNested, undeclaredProperties } from './validation';

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

describe('the global pipe refuses every undeclared property, Object.prototype names included', () => {
  class Inner {
    @IsString() venue!: string;
  }
  class Outer {
    @IsNumber() price!: number;
    @ValidateNested({ each: true }) @Type(() => Inner) legs!: Inner[];
  }
  const pipe = createValidationPipe();
  const run = (body: string) => pipe.transform(JSON.parse(body), { type: 'body', metatype: Outer });
  const fieldsOf = async (body: string) => {
    try {
      await run(body);
      return [];
    } catch (error) {
      return (error as FieldsException).errors;
    }
  };

  it('passes a body with only declared properties', async () => {
    await expect(run('{"price": 1, "legs": [{"venue": "x"}]}')).resolves.toBeInstanceOf(Outer);
  });

  // class-validator's whitelist alone let these through (it finds the prototype's method by the name).
  it.each(['hasOwnProperty', 'isPrototypeOf', '__defineGetter__', 'valueOf', 'constructor', 'extra'])(
    'refuses %s at the top and nested',
    async (name) => {
      expect(await fieldsOf(`{"price": 1, "${name}": 1, "legs": [{"venue": "x"}]}`)).toEqual([
        { field: name, reason: `${name} is not an allowed property` },
      ]);
      expect(await fieldsOf(`{"price": 1, "legs": [{"venue": "x", "${name}": 1}]}`)).toEqual([
        { field: `legs.0.${name}`, reason: `legs.0.${name} is not an allowed property` },
      ]);
    },
  );

  it('reports an undeclared property beside the other bad fields', async () => {
    expect(await fieldsOf('{"price": "x", "hasOwnProperty": 1, "legs": []}')).toEqual([
      { field: 'price', reason: expect.any(String) },
      { field: 'hasOwnProperty', reason: 'hasOwnProperty is not an allowed property' },
    ]);
  });

  it('leaves an object without a class alone (a null-prototype instance, a Buffer, a Date)', () => {
    for (const instance of [Object.create(null) as object, Buffer.from('x'), new Date(0)]) {
      expect(undeclaredProperties({ anything: 1 }, instance)).toEqual([]);
    }
  });

  // The ingest path checks every tick: a lookup in class-validator's storage per object cost ~14 µs a tick.
  it("reads a class's declared properties once, however many objects it checks", () => {
    class Once {
      @IsString() a!: string;
    }
    const spy = jest.spyOn(getMetadataStorage(), 'getTargetValidationMetadatas');
    try {
      for (let i = 0; i < 3; i++) {
        expect(undeclaredProperties({ a: 'x', b: i }, Object.assign(new Once(), { a: 'x' }))).toEqual([
          { field: 'b', reason: 'b is not an allowed property' },
        ]);
      }
      expect(spy.mock.calls.filter(([target]) => target === Once)).toHaveLength(1);
    } finally {
      spy.mockRestore();
    }
  });
});

describe('tooDeeplyNested', () => {
  const nested = (depth: number): unknown => Array.from({ length: depth }).reduce<unknown>((inner) => ({ a: inner }), 1);

  it('names the field holding a value nested deeper than MAX_NESTING, without recursion', () => {
    expect(tooDeeplyNested({ ok: nested(MAX_NESTING - 1), bad: nested(100_000) }, '[2]')).toEqual([
      { field: '[2].bad', reason: `[2].bad is nested more than ${MAX_NESTING} levels deep` },
    ]);
  });

  it('passes what a DTO can hold, and scalars', () => {
    expect(tooDeeplyNested({ view: { last10: [1, 2, 3] } })).toEqual([]);
    expect(tooDeeplyNested(nested(MAX_NESTING))).toEqual([]);
    expect(tooDeeplyNested(7)).toEqual([]);
  });
});
