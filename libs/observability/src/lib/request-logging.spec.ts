import type { IncomingMessage } from 'node:http';
import { Writable } from 'node:stream';
import { Controller, Get, Global, Logger as NestLogger, Module, Query } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { Logger } from 'nestjs-pino';
import { BaseEnv } from '@md/config';
import { ObservabilityModule, traceIdOf } from './observability.module';

type Line = Record<string, unknown>;

class Lines extends Writable {
  readonly lines: Line[] = [];
  override _write(chunk: Buffer, _encoding: string, done: () => void): void {
    for (const line of String(chunk).split('\n').filter(Boolean)) this.lines.push(JSON.parse(line) as Line);
    done();
  }
}

@Controller()
class ProbeController {
  private readonly logger = new NestLogger('probe');

  @Get('work')
  async work(@Query('ms') ms: string): Promise<{ ok: true }> {
    await new Promise((resolve) => setTimeout(resolve, Number(ms)));
    this.logger.log(`worked ${ms} ms`);
    return { ok: true };
  }

  @Get('boom')
  boom(): never {
    throw new Error('kaboom');
  }
}

@Global()
@Module({
  providers: [{ provide: BaseEnv, useValue: Object.assign(new BaseEnv(), { LOG_LEVEL: 'debug', NODE_ENV: 'test' }) }],
  exports: [BaseEnv],
})
class TestEnvModule {}

describe('ObservabilityModule request logging (no child logger per request)', () => {
  const out = new Lines();
  let app: NestFastifyApplication;
  let url: string;
  const get = (path: string, traceId: string) => fetch(`${url}${path}`, { headers: { 'x-request-id': traceId } });
  const linesOf = (traceId: string) => out.lines.filter((line) => line.trace_id === traceId);

  beforeAll(async () => {
    @Module({
      imports: [TestEnvModule, ObservabilityModule.forRoot({ service: 'probe', version: '1.2.3', destination: out })],
      controllers: [ProbeController],
    })
    class ProbeModule {}
    // As createService: the request id is set on the raw request, where the middleware reads it.
    const adapter = new FastifyAdapter({
      genReqId: (raw: IncomingMessage) => ((raw as IncomingMessage & { id?: string }).id = traceIdOf(raw)),
    });
    app = await NestFactory.create<NestFastifyApplication>(ProbeModule, adapter, { bufferLogs: true });
    app.useLogger(app.get(Logger));
    await app.listen(0, '127.0.0.1');
    url = await app.getUrl();
    // Two requests in flight at once: each line must carry its own request.
    await Promise.all([get('/work?ms=40&token=s3cret', 'trace-slow'), get('/work?ms=1', 'trace-fast')]);
    expect((await get('/boom', 'trace-boom')).status).toBe(500);
    expect((await get('/metrics', 'trace-metrics')).status).toBe(200);
    expect((await get('/nowhere', 'trace-404')).status).toBe(404);
    new NestLogger('outside').log('not in a request');
    await new Promise((resolve) => setTimeout(resolve, 50));
  });

  afterAll(() => app.close());

  it('gives a line written while serving a request that request and its trace_id', () => {
    expect(linesOf('trace-slow').find((line) => line.msg === 'worked 40 ms')).toMatchObject({
      level: 'info',
      service: 'probe',
      version: '1.2.3',
      context: 'probe',
      req: { method: 'GET', url: '/work?ms=40&token=[redacted]' },
    });
    expect(linesOf('trace-fast').find((line) => line.msg === 'worked 1 ms')).toMatchObject({ req: { method: 'GET', url: '/work?ms=1' } });
  });

  it('writes the completion line pino-http wrote: req, trace_id, res, responseTime', () => {
    const done = linesOf('trace-slow').find((line) => line.msg === 'request completed');
    expect(done).toEqual({
      level: 'debug',
      time: expect.any(String),
      service: 'probe',
      version: '1.2.3',
      pid: process.pid,
      req: { method: 'GET', url: '/work?ms=40&token=[redacted]' },
      trace_id: 'trace-slow',
      res: { statusCode: 200 },
      responseTime: expect.any(Number),
      msg: 'request completed',
    });
    expect(Object.keys(done as Line)).toEqual([
      'level',
      'time',
      'service',
      'version',
      'pid',
      'req',
      'trace_id',
      'res',
      'responseTime',
      'msg',
    ]);
    expect(done?.responseTime).toBeGreaterThanOrEqual(39);
    expect(linesOf('trace-404')).toEqual([expect.objectContaining({ level: 'warn', res: { statusCode: 404 }, msg: 'request completed' })]);
  });

  it('logs a 5xx as `request errored`, and the exception in the request context', () => {
    const lines = linesOf('trace-boom');
    expect(lines.find((line) => line.context === 'ExceptionsHandler')).toMatchObject({
      level: 'error',
      req: { method: 'GET', url: '/boom' },
    });
    expect(lines.find((line) => line.msg === 'request errored')).toMatchObject({
      level: 'error',
      res: { statusCode: 500 },
      err: { type: 'Error', message: 'failed with status code 500' },
    });
  });

  it('does not log health or metrics requests', () => {
    expect(linesOf('trace-metrics')).toEqual([]);
  });

  it('adds no request fields outside a request', () => {
    const outside = out.lines.find((line) => line.msg === 'not in a request');
    expect(outside).toMatchObject({ level: 'info', context: 'outside' });
    expect(outside).not.toHaveProperty('req');
    expect(outside).not.toHaveProperty('trace_id');
  });
});
