import { flushFaults } from './flush-faults';

describe('flushFaults (FLUSH_FAULT)', () => {
  const at = (fault: Parameters<typeof flushFaults>[0]) => {
    const killed: string[] = [];
    const hooks = flushFaults(fault, () => killed.push('killed'));
    hooks.beforeCommit();
    const before = killed.length;
    hooks.afterCommit();
    return { before, after: killed.length - before };
  };

  it('kills the process right before COMMIT with crash-before-commit, right after it with crash-after-commit', () => {
    expect(at('crash-before-commit')).toEqual({ before: 1, after: 0 });
    expect(at('crash-after-commit')).toEqual({ before: 0, after: 1 });
  });

  it('does nothing when unset', () => {
    expect(at(undefined)).toEqual({ before: 0, after: 0 });
  });
});
