import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { BullBoardModule } from '@bull-board/nestjs';
import { Module } from '@nestjs/common';
import { OrchestratorApiEnv } from '@md/config';
import { AuthFailureLimiter } from '@md/platform';
import { TICKS_QUEUE, VIEWS_QUEUE } from '@md/pipeline';
import { QueueModule } from '../queue/queue.module';
import { basicAuthAdapter } from './admin-auth';

export const ADMIN_ROUTE = '/admin/queues';

/**
 * The queue admin UI (bull-board) at /admin/queues: both BullMQ queues of the pipeline, with
 * their jobs, failures and retries. Behind HTTP Basic auth (ADMIN_USERNAME / ADMIN_PASSWORD);
 * AppModule imports this module only when ADMIN_PASSWORD is set, so without one there is
 * nothing to reach (404). Operators only: it can retry and delete jobs.
 */
@Module({
  imports: [
    QueueModule,
    BullBoardModule.forRootAsync({
      inject: [OrchestratorApiEnv, AuthFailureLimiter],
      useFactory: (env: OrchestratorApiEnv, failures: AuthFailureLimiter) => ({
        route: ADMIN_ROUTE,
        adapter: basicAuthAdapter({ username: env.ADMIN_USERNAME, password: env.ADMIN_PASSWORD ?? '' }, failures),
        boardOptions: { uiConfig: { boardTitle: 'Market data queues' } },
      }),
    }),
    BullBoardModule.forFeature({ name: TICKS_QUEUE, adapter: BullMQAdapter }, { name: VIEWS_QUEUE, adapter: BullMQAdapter }),
  ],
})
export class AdminModule {}
