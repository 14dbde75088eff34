import { makeCounterProvider, makeGaugeProvider, makeHistogramProvider } from '@willsoto/nestjs-prometheus';

/** Metrics of the gateway, declared here, observed by the hub. */
export const CLIENTS = 'md_gateway_clients';
export const SENT = 'md_gateway_messages_sent_total';
export const REPLAYED = 'md_gateway_messages_replayed_total';
export const CONFLATED = 'md_gateway_messages_conflated_total';
export const DROPPED = 'md_gateway_clients_dropped_total';
export const RESETS = 'md_gateway_resets_total';
export const RESYNCS = 'md_gateway_resyncs_total';
export const SUBSCRIPTION_UP = 'md_gateway_subscription_up';
export const DELIVERY = 'md_gateway_delivery_seconds';
export const REFUSED = 'md_gateway_refused_total';

export const gatewayMetricProviders = [
  makeGaugeProvider({ name: CLIENTS, help: 'Connected stream clients, by transport', labelNames: ['transport'] }),
  makeCounterProvider({
    name: SENT,
    help: 'Messages written to clients (live and replayed), by transport and type',
    labelNames: ['transport', 'type'],
  }),
  makeCounterProvider({
    name: REPLAYED,
    help: 'Messages written from history to clients that resumed with Last-Event-ID',
    labelNames: ['transport'],
  }),
  makeCounterProvider({
    name: CONFLATED,
    help: 'View updates replaced by a newer one before being written (maxHz or a congested socket)',
    labelNames: ['transport'],
  }),
  makeCounterProvider({
    name: DROPPED,
    help: 'Clients disconnected by the gateway: buffer (output passed CLIENT_BUFFER_MAX_BYTES) or heartbeat (no pong)',
    labelNames: ['transport', 'reason'],
  }),
  makeCounterProvider({
    name: RESETS,
    help: 'reset events sent: a resume point beyond history or unknown (client), or messages the gateway itself could not recover (gateway)',
    labelNames: ['cause'],
  }),
  makeCounterProvider({
    name: RESYNCS,
    help: 'Redis subscription (re)starts and how the gap was closed: replayed from history, or reset',
    labelNames: ['outcome'],
  }),
  makeCounterProvider({
    name: REFUSED,
    help: 'Refused by a cap: max_clients (MAX_CLIENTS connections: 503 / WS close 1013), ws_payload (a WS frame over the max payload: close 1009), ws_subscribe_rate (over WS_SUBSCRIBES_PER_MIN: error 429), max_streams_per_address (over MAX_STREAMS_PER_ADDRESS: 429 / WS close 4429)',
    labelNames: ['transport', 'reason'],
  }),
  makeGaugeProvider({ name: SUBSCRIPTION_UP, help: '1 while the Redis subscription is live and in sync, else 0' }),
  makeHistogramProvider({
    name: DELIVERY,
    help: "From the tick's arrival at the api (receivedAt) to the write of the message on the sockets of the clients it went to, one observation per message and transport (the last write); live messages only",
    labelNames: ['transport'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
  }),
];
