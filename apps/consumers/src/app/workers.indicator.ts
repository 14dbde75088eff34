import { Inject, Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { DiscoveryService } from '@nestjs/core';
import { WorkerHost } from '@nestjs/bullmq';
import type { ReadinessIndicator } from '@md/health';

/** Every processor's BullMQ worker is running (not closed, not paused). */
@Injectable()
export class WorkersIndicator implements ReadinessIndicator {
  constructor(
    @Inject(DiscoveryService) private readonly discovery: DiscoveryService,
    private readonly indicator: HealthIndicatorService,
  ) {}

  async check() {
    const session = this.indicator.check('workers');
    const hosts = this.discovery
      .getProviders()
      .map((wrapper) => wrapper.instance as unknown)
      .filter((instance): instance is WorkerHost => instance instanceof WorkerHost);
    const states = Object.fromEntries(hosts.map((host) => [host.worker.name, host.worker.isRunning() && !host.worker.isPaused()]));
    const ok = hosts.length > 0 && Object.values(states).every(Boolean);
    return ok ? session.up({ workers: states }) : session.down({ workers: states });
  }
}
