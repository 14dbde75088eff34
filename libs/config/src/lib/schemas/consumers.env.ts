import { Transform } from 'class-transformer';
import { ArrayNotEmpty, IsIn } from 'class-validator';
import { EnvInt, EnvUrl } from '../decorators';
import { PipelineEnv } from './pipeline.env';

export const CONSUMER_ROLES = ['calc-a', 'calc-b'] as const;
export type ConsumerRole = (typeof CONSUMER_ROLES)[number];

export class ConsumersEnv extends PipelineEnv {
  override PORT: number = 3002;

  /** Which processors this process runs, so calc-a and calc-b can be deployed apart. */
  @Transform(({ value }) =>
    typeof value === 'string'
      ? value
          .split(',')
          .map((r) => r.trim())
          .filter(Boolean)
      : value,
  )
  @ArrayNotEmpty({ message: 'must name at least one role' })
  @IsIn(CONSUMER_ROLES as unknown as string[], { each: true, message: `must be a comma-separated list of ${CONSUMER_ROLES.join(', ')}` })
  CONSUMER_ROLES: ConsumerRole[] = ['calc-a', 'calc-b'];

  @EnvInt(1, 1000)
  CALC_A_CONCURRENCY: number = 2;

  @EnvInt(1, 1000)
  CALC_B_CONCURRENCY: number = 2;

  /**
   * How long a worker's lock on a job lasts (renewed while it runs). A job whose worker died
   * is handed to another worker once its lock has expired, checked at the same interval.
   */
  @EnvInt(500, 600_000)
  WORKER_LOCK_MS: number = 30_000;

  /**
   * Where calc-b posts views (the orchestrator-api's base URL). A bare host:port (what a
   * Render blueprint's `fromService … property: hostport` gives) is read as http://host:port;
   * a bare host (`property: host`) as http://host:3100, the api's default INTERNAL_PORT, where
   * /internal/* is served (Render's hostport names the api's public port instead).
   */
  @Transform(({ value }) =>
    typeof value !== 'string'
      ? value
      : /^[^/:]+:\d+$/.test(value)
        ? `http://${value}`
        : /^[A-Za-z0-9.-]+$/.test(value)
          ? `http://${value}:3100`
          : value,
  )
  @EnvUrl(['http', 'https'])
  ORCHESTRATOR_URL: string = 'http://127.0.0.1:3100';
}
