import { Counter, Gauge, Histogram } from 'prom-client';
import { FlushMetrics } from '../flush/flush.metrics';

/**
 * The flusher's metrics for its unit specs: real prom-client metrics in no registry, so each
 * spec reads its own values and none collides with another's. Test code only.
 */
export function unregisteredFlushMetrics(): FlushMetrics {
  return new FlushMetrics(
    new Counter({ name: 'rows', help: 'rows', labelNames: ['result'], registers: [] }),
    new Counter({ name: 'failures', help: 'failures', registers: [] }),
    new Histogram({ name: 'batch', help: 'batch', registers: [] }),
    new Histogram({ name: 'duration', help: 'duration', registers: [] }),
    new Histogram({ name: 'to_row', help: 'to_row', registers: [] }),
    new Gauge({ name: 'depth', help: 'depth', registers: [] }),
    new Gauge({ name: 'oldest', help: 'oldest', registers: [] }),
  );
}
