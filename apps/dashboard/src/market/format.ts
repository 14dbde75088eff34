/**
 * Number formats of the grid. Every number is rendered with tabular figures and a fixed number
 * of decimals per symbol, so a price that changes never changes width (no layout shift).
 */

/** Decimals to show for a symbol, chosen once from the first price seen. */
export function decimalsFor(price: number): number {
  const size = Math.abs(price);
  if (size >= 1_000) return 2;
  if (size >= 10) return 3;
  if (size >= 1) return 4;
  return 5;
}

const formats = new Map<string, Intl.NumberFormat>();
function numberFormat(decimals: number, signed = false): Intl.NumberFormat {
  const key = `${decimals}:${signed}`;
  let format = formats.get(key);
  if (!format) {
    format = new Intl.NumberFormat('en-US', {
      minimumFractionDigits: decimals,
      maximumFractionDigits: decimals,
      signDisplay: signed ? 'exceptZero' : 'auto',
    });
    formats.set(key, format);
  }
  return format;
}

const DASH = '—';

export function formatPrice(value: number | null | undefined, decimals: number): string {
  return value === null || value === undefined || !Number.isFinite(value) ? DASH : numberFormat(decimals).format(value);
}

/** A signed change, "+12.50" / "−3.10" (a true minus sign, as wide as the plus). */
export function formatChange(value: number | null | undefined, decimals: number): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return DASH;
  return numberFormat(decimals, true).format(value).replace('-', '−');
}

export function formatPercent(value: number | null | undefined): string {
  return value === null || value === undefined || !Number.isFinite(value) ? DASH : `${formatChange(value, 2)}%`;
}

export function formatVolume(value: number | null | undefined): string {
  return value === null || value === undefined || !Number.isFinite(value) ? DASH : numberFormat(2).format(value);
}

/** An age: "0.4s", "12s", "3m 05s", "2h 01m". */
export function formatAge(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return DASH;
  const age = Math.max(0, ms);
  if (age < 10_000) return `${(age / 1000).toFixed(1)}s`;
  const seconds = Math.floor(age / 1000);
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m ${String(seconds % 60).padStart(2, '0')}s`;
  return `${Math.floor(seconds / 3600)}h ${String(Math.floor(seconds / 60) % 60).padStart(2, '0')}m`;
}

export function formatMs(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return DASH;
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(2)} s`;
}
