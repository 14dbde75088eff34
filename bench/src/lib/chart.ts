/**
 * The ramp as a picture: latency percentiles (log ms) against offered rate (log ticks/s), one
 * panel for single ticks and one for batches of 100. A plain SVG, no dependency.
 */

interface Percentiles {
  p50?: number | null;
  p95?: number | null;
  p99?: number | null;
}

/** What the chart reads of a ramp step. */
export interface ChartStep {
  rate: number;
  ackMs?: Percentiles | null;
  viewMs?: Percentiles | null;
  pgMs?: Percentiles | null;
}

export interface ChartRamp {
  maxTps?: number;
  maxTpsBatch?: number;
  single?: { steps: ChartStep[] };
  batch?: { steps: ChartStep[] };
}

const WIDTH = 520;
const HEIGHT = 360;
const PAD = { left: 62, right: 16, top: 34, bottom: 48 };
const SERIES: { key: (s: ChartStep) => number | null | undefined; label: string; color: string }[] = [
  { key: (s) => s.ackMs?.p50, label: 'ack p50', color: '#9ecae1' },
  { key: (s) => s.ackMs?.p95, label: 'ack p95', color: '#4292c6' },
  { key: (s) => s.ackMs?.p99, label: 'ack p99', color: '#08519c' },
  { key: (s) => s.viewMs?.p99, label: 'ingest → SSE view p99', color: '#e6550d' },
  { key: (s) => s.pgMs?.p99, label: 'ingest → Postgres p99', color: '#31a354' },
];

const esc = (text: unknown) => String(text).replace(/&/g, '&amp;').replace(/</g, '&lt;');
const positive = (v: number | null | undefined): v is number => typeof v === 'number' && v > 0;

function panel(title: string, steps: ChartStep[], limits: { ack: number; maxTps?: number }, offsetX: number): string {
  const rates = steps.map((s) => s.rate);
  const values = steps.flatMap((s) => SERIES.map((series) => series.key(s))).filter(positive);
  if (!rates.length || !values.length) return `<text x="${offsetX + 20}" y="60">${esc(title)}: no data</text>`;
  const x0 = Math.log10(Math.min(...rates) / 1.2);
  const x1 = Math.log10(Math.max(...rates) * 1.2);
  const y0 = Math.floor(Math.log10(Math.max(0.1, Math.min(...values))));
  const y1 = Math.ceil(Math.log10(Math.max(...values, limits.ack)));
  const plotW = WIDTH - PAD.left - PAD.right;
  const plotH = HEIGHT - PAD.top - PAD.bottom;
  const px = (rate: number) => offsetX + PAD.left + ((Math.log10(rate) - x0) / (x1 - x0)) * plotW;
  const py = (ms: number) => PAD.top + plotH - ((Math.log10(Math.max(ms, 10 ** y0)) - y0) / (y1 - y0)) * plotH;
  const parts = [`<text x="${offsetX + WIDTH / 2}" y="20" text-anchor="middle" font-weight="bold">${esc(title)}</text>`];
  for (let e = y0; e <= y1; e++) {
    const y = py(10 ** e);
    parts.push(`<line x1="${offsetX + PAD.left}" x2="${offsetX + WIDTH - PAD.right}" y1="${y}" y2="${y}" stroke="#ddd"/>`);
    parts.push(
      `<text x="${offsetX + PAD.left - 6}" y="${y + 4}" text-anchor="end">${10 ** e >= 1 ? 10 ** e : (10 ** e).toFixed(1)}</text>`,
    );
  }
  for (const rate of rates) {
    const x = px(rate);
    parts.push(`<line x1="${x}" x2="${x}" y1="${PAD.top}" y2="${PAD.top + plotH}" stroke="#f0f0f0"/>`);
    parts.push(
      `<text x="${x}" y="${PAD.top + plotH + 16}" text-anchor="middle" font-size="10">${rate >= 1000 ? `${+(rate / 1000).toFixed(1)}k` : rate}</text>`,
    );
  }
  const ackY = py(limits.ack);
  parts.push(
    `<line x1="${offsetX + PAD.left}" x2="${offsetX + WIDTH - PAD.right}" y1="${ackY}" y2="${ackY}" stroke="#c00" stroke-dasharray="4 3"/>`,
  );
  parts.push(
    `<text x="${offsetX + WIDTH - PAD.right - 4}" y="${ackY - 4}" text-anchor="end" fill="#c00" font-size="10">ack p99 limit ${limits.ack} ms</text>`,
  );
  if (limits.maxTps) {
    const x = px(limits.maxTps);
    parts.push(`<line x1="${x}" x2="${x}" y1="${PAD.top}" y2="${PAD.top + plotH}" stroke="#555" stroke-dasharray="2 2"/>`);
    parts.push(`<text x="${x + 4}" y="${PAD.top + 12}" font-size="10">max ${limits.maxTps}/s</text>`);
  }
  for (const series of SERIES) {
    const points = steps.flatMap((s) => {
      const value = series.key(s);
      return positive(value) ? [`${px(s.rate).toFixed(1)},${py(value).toFixed(1)}`] : [];
    });
    if (!points.length) continue;
    parts.push(`<polyline fill="none" stroke="${series.color}" stroke-width="2" points="${points.join(' ')}"/>`);
    for (const p of points) parts.push(`<circle cx="${p.split(',')[0]}" cy="${p.split(',')[1]}" r="2.5" fill="${series.color}"/>`);
  }
  parts.push(`<text x="${offsetX + PAD.left + plotW / 2}" y="${HEIGHT - 10}" text-anchor="middle">offered ticks/s (log)</text>`);
  parts.push(
    `<text transform="translate(${offsetX + 14},${PAD.top + plotH / 2}) rotate(-90)" text-anchor="middle">latency ms (log)</text>`,
  );
  return parts.join('\n');
}

export function rampChart(ramp: ChartRamp | undefined, caption: string): string {
  const legend = SERIES.map(
    (s, i) =>
      `<rect x="${20 + i * 200}" y="${HEIGHT + 8}" width="12" height="12" fill="${s.color}"/><text x="${36 + i * 200}" y="${HEIGHT + 18}">${esc(s.label)}</text>`,
  ).join('\n');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH * 2}" height="${HEIGHT + 50}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="#fff"/>
${panel('POST /ingest/tick (one tick per request)', ramp?.single?.steps ?? [], { ack: 50, maxTps: ramp?.maxTps }, 0)}
${panel('POST /ingest/ticks (100 ticks per request)', ramp?.batch?.steps ?? [], { ack: 50, maxTps: ramp?.maxTpsBatch }, WIDTH)}
${legend}
<text x="20" y="${HEIGHT + 42}" font-size="10" fill="#555">${esc(caption)}</text>
</svg>
`;
}
