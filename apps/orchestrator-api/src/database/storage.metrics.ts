import { makeCounterProvider, makeGaugeProvider } from '@willsoto/nestjs-prometheus';

export const STORAGE_PARTITIONS = 'md_storage_partitions';
export const STORAGE_PARTITIONS_DROPPED = 'md_storage_partitions_dropped_total';
export const STORAGE_FAILURES = 'md_storage_maintenance_failures_total';

export const storageMetricProviders = [
  makeGaugeProvider({
    name: STORAGE_PARTITIONS,
    help: 'Partitions of md_ticks (daily ones and the one before them), after the last maintenance',
  }),
  makeCounterProvider({ name: STORAGE_PARTITIONS_DROPPED, help: 'Partitions of md_ticks dropped as past RETENTION_DAYS' }),
  makeCounterProvider({
    name: STORAGE_FAILURES,
    help: 'Storage maintenance passes that failed (retried before the next flush that needs them, and hourly)',
  }),
];
