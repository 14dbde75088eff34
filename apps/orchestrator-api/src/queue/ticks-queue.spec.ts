import fc from 'fast-check';
import { jobIdFor } from './ticks-queue';

/** What BullMQ refuses as a custom job id (see Job.validateOptions). */
const refusedByBullmq = (id: string) => String(parseInt(id, 10)) === id || id.includes(':');

describe('jobIdFor', () => {
  it('is the event_id itself for ordinary ids', () => {
    expect(jobIdFor('0193c9a2-7b1e-7cc3-9f1e-2b7d1c9e4a10')).toBe('0193c9a2-7b1e-7cc3-9f1e-2b7d1c9e4a10');
    expect(jobIdFor('01JDQ7ZC6G3M8E2V1F6W5RZ9K4')).toBe('01JDQ7ZC6G3M8E2V1F6W5RZ9K4');
    expect(jobIdFor('007')).toBe('007');
  });

  it('escapes the ids BullMQ refuses', () => {
    expect(jobIdFor('12345')).toBe('~12345');
    expect(jobIdFor('a:b')).toBe('~a%3Ab');
    expect(jobIdFor('-5')).toBe('~-5');
  });

  const eventId = fc.stringMatching(/^[\x21-\x7E]{1,40}$/);

  it('never yields an id BullMQ refuses', () => {
    fc.assert(fc.property(eventId, (id) => !refusedByBullmq(jobIdFor(id))));
  });

  it('is one-to-one: different event_ids never share a job', () => {
    fc.assert(
      fc.property(eventId, eventId, (a, b) => a === b || jobIdFor(a) !== jobIdFor(b)),
      { numRuns: 2000 },
    );
    // The cases most likely to collide, by construction:
    const tricky = ['1', '~1', '%', '~%25', ':', '~%3A', '%3A', '~~', '~'];
    expect(new Set(tricky.map(jobIdFor)).size).toBe(tricky.length);
  });
});
