import { boundsOf, dailyName, DAY_MS, plan, retentionHorizon } from './partitions';

const day = (iso: string) => Date.parse(`${iso}T00:00:00Z`);
const now = day('2026-03-10') + 13 * 3_600_000;
const daily = (iso: string) => boundsOf(dailyName(day(iso)))!;

describe('partitions', () => {
  it('reads bounds from names, and nothing from other tables', () => {
    expect(boundsOf('md_ticks_p20260310')).toEqual({ name: 'md_ticks_p20260310', from: day('2026-03-10'), to: day('2026-03-11') });
    expect(boundsOf('md_ticks_before_20260303')).toEqual({ name: 'md_ticks_before_20260303', from: -Infinity, to: day('2026-03-03') });
    expect(boundsOf('md_ticks_dead_letter')).toBeUndefined();
  });

  it('puts the horizon RETENTION_DAYS whole days before today, none for 0', () => {
    expect(retentionHorizon(7, now)).toBe(day('2026-03-03'));
    expect(retentionHorizon(0, now)).toBeUndefined();
  });

  it('on a fresh schema: drops the empty partition before the week, creates the week up to 2 days ahead', () => {
    const before = boundsOf('md_ticks_before_20260303')!;
    const { create, drop } = plan([before], 7, now);
    expect(drop).toEqual([before]);
    expect(create.map((d) => dailyName(d))).toEqual(
      ['03', '04', '05', '06', '07', '08', '09', '10', '11', '12'].map((d) => `md_ticks_p202603${d}`),
    );
  });

  it('keeps everything and only creates ahead with RETENTION_DAYS=0; contiguous from the newest', () => {
    const existing = [boundsOf('md_ticks_before_20260301')!, daily('2026-03-01'), daily('2026-03-09')];
    const { create, drop } = plan(existing, 0, now);
    expect(drop).toEqual([]);
    expect(create).toEqual([day('2026-03-10'), day('2026-03-11'), day('2026-03-12')]);
  });

  it('drops each partition that ends at or before the horizon, and starts again at the horizon after a long stop', () => {
    const existing = [daily('2026-02-01'), daily('2026-02-02')];
    const { create, drop } = plan(existing, 3, now);
    expect(drop).toEqual(existing);
    expect(create[0]).toBe(day('2026-03-07'));
    expect(create.at(-1)).toBe(day('2026-03-12'));
    expect(plan([daily('2026-03-06'), daily('2026-03-07')], 3, now).drop.map((p) => p.name)).toEqual(['md_ticks_p20260306']);
    expect(DAY_MS).toBe(86_400_000);
  });

  it('creates the missing days back to a raised horizon (RETENTION_DAYS 7 → 30)', () => {
    const existing = ['03', '04', '05', '06', '07', '08', '09', '10', '11', '12'].map((d) => daily(`2026-03-${d}`));
    const { create, drop } = plan(existing, 30, now);
    expect(drop).toEqual([]);
    expect(create[0]).toBe(day('2026-02-08'));
    expect(create.at(-1)).toBe(day('2026-03-02'));
    expect(create).toHaveLength(23);
  });

  it('fills the days up to 2 days ahead even when a partition far ahead exists (a bogus 2099 row)', () => {
    const existing = [boundsOf('md_ticks_before_20260311')!, daily('2099-01-01')];
    expect(plan(existing, 0, now).create).toEqual([day('2026-03-11'), day('2026-03-12')]);
    expect(plan(existing, 3, now).create).toEqual([day('2026-03-11'), day('2026-03-12')]);
  });

  it('fills a gap inside the kept range (a partition dropped by hand)', () => {
    const existing = ['07', '08', '10', '11', '12'].map((d) => daily(`2026-03-${d}`));
    expect(plan(existing, 3, now).create).toEqual([day('2026-03-09')]);
  });
});
