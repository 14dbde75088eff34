import { Injectable, Module } from '@nestjs/common';
import { createService } from './bootstrap';

/** A provider that cannot be built: Nest's start-up fails before the app's pino logger exists. */
@Injectable()
class Broken {
  constructor() {
    throw new Error('driver package not installed');
  }
}
@Module({ providers: [Broken] })
class BrokenModule {}

describe('createService logging', () => {
  it('writes JSON lines only, even when start-up fails before the pino logger is in place', async () => {
    const lines: string[] = [];
    const capture = (chunk: string | Uint8Array) => {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      return true;
    };
    const out = jest.spyOn(process.stdout, 'write').mockImplementation(capture);
    const err = jest.spyOn(process.stderr, 'write').mockImplementation(capture);
    // Nest ends the process on a failed start; here the test goes on and reads what it wrote.
    const exitCodes: unknown[] = [];
    const exit = jest.spyOn(process, 'exit').mockImplementation(((code?: number) => void exitCodes.push(code)) as never);
    try {
      await createService(BrokenModule).catch(() => undefined);
    } finally {
      out.mockRestore();
      err.mockRestore();
      exit.mockRestore();
    }
    expect(exitCodes).toContain(1);
    expect(lines.join('\n')).toContain('driver package not installed');
    const notJson = lines.filter((line) => {
      try {
        return typeof JSON.parse(line) !== 'object';
      } catch {
        return true;
      }
    });
    expect(notJson).toEqual([]);
  });
});
