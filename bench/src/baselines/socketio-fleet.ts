/**
 * Socket.IO clients (socket.io-client, WebSocket transport) for the `socketio` baseline, in a
 * child process: the same windows and IPC commands as the SSE fleet (lib/fleet-window.ts).
 * A client is ready once connected; it listens to symbol.updated.
 */
import type { SymbolUpdatedMessage } from '@md/contracts';
import { io } from 'socket.io-client';
import { type FleetClient, now, seqParts, serveFleet } from '../lib/fleet-window';

const clients = new Set<FleetClient>();

serveFleet({
  clients,
  open(options, state, onReady) {
    const socket = io(`http://${options.host}:${options.port}`, { transports: ['websocket'], forceNew: true, reconnection: false });
    const client: FleetClient = { ready: false, closed: false, close: () => socket.close() };
    clients.add(client);
    socket.on('connect', () => {
      client.ready = true;
      onReady(true);
    });
    socket.on('connect_error', () => onReady(false));
    socket.on('disconnect', () => {
      client.closed = true;
      clients.delete(client);
    });
    socket.on('symbol.updated', (message: SymbolUpdatedMessage) => {
      state.window.message(client, now(), {
        type: 'symbol.updated',
        ...(message.seq ? seqParts(message.seq) : {}),
        receivedAt: message.receivedAt,
        skipped: message.skipped,
      });
    });
  },
});
