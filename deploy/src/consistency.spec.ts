import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { getMetadataStorage } from 'class-validator';
import { parse } from 'yaml';
import { BaseEnv, ConsumersEnv, envKeysOf, FeederEnv, OrchestratorApiEnv } from '@md/config';

/**
 * The deployment files tell the same story as the code (house style rule 13). No Docker
 * engine, Kubernetes or Render runs here, so this reads the files and fails when they drift:
 * every app has a Dockerfile and a service in compose, Render, Helm and the CI image matrix;
 * every variable an app's config schema requires is set there; ports and probe paths match.
 * (helm is not installable from this machine's registries, so `helm lint` does not run.)
 */
const ROOT = join(__dirname, '../..');
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');
const yaml = (path: string) => parse(read(path)) as any; // eslint-disable-line @typescript-eslint/no-explicit-any

/** The schema of each deployable app. A new app under apps/ without an entry fails the first test. */
const SCHEMAS: Record<string, new () => BaseEnv> = {
  'orchestrator-api': OrchestratorApiEnv,
  consumers: ConsumersEnv,
  feeder: FeederEnv,
};
/** Browser apps are deployed as static files; they are checked elsewhere. */
const NOT_NEST = new Set(['dashboard']);
const APPS = readdirSync(join(ROOT, 'apps')).filter((name) => existsSync(join(ROOT, 'apps', name, 'project.json')) && !NOT_NEST.has(name));

/** Variables without a default that are not optional: a deployment must set them. */
function requiredVars(schema: new () => BaseEnv): string[] {
  const instance = new schema() as unknown as Record<string, unknown>;
  const metadata = getMetadataStorage().getTargetValidationMetadatas(schema, '', true, false);
  const optional = new Set(metadata.filter((m) => m.type === 'conditionalValidation').map((m) => m.propertyName));
  return envKeysOf(schema).filter((key) => instance[key] === undefined && !optional.has(key));
}
const portOf = (app: string) => new SCHEMAS[app]().PORT;

describe('deployment files agree with the code', () => {
  it('knows the config schema of every app', () => {
    expect(APPS.sort()).toEqual(Object.keys(SCHEMAS).sort());
  });

  it('reads required variables from the schemas (the check itself works)', () => {
    expect(requiredVars(OrchestratorApiEnv).sort()).toEqual(['INGEST_PASSWORD', 'INGEST_USERNAME', 'INTERNAL_TOKEN']);
    expect(requiredVars(ConsumersEnv)).toEqual(['INTERNAL_TOKEN']);
    expect(requiredVars(FeederEnv).sort()).toEqual(['INGEST_PASSWORD', 'INGEST_USERNAME']);
  });

  it.each(APPS)('%s: Dockerfile with npm install, a non-root user, its port and a liveness HEALTHCHECK', (app) => {
    const dockerfile = read(`apps/${app}/Dockerfile`);
    expect(dockerfile).toMatch(/RUN npm install\b/);
    expect(dockerfile).not.toMatch(/RUN npm ci\b/);
    expect(dockerfile).toMatch(new RegExp(`npx nx build ${app}\\b`));
    expect(dockerfile).toMatch(/^USER (?!root)\S+/m);
    expect(dockerfile).toMatch(new RegExp(`^EXPOSE ${portOf(app)}$`, 'm'));
    expect(dockerfile).toMatch(/HEALTHCHECK[\s\S]*\/health\/liveness/);
  });

  describe('docker-compose.yml', () => {
    const compose = yaml('docker-compose.yml');

    it.each(APPS)('%s: a service with every required variable, healthy dependencies, dropped capabilities', (app) => {
      const service = compose.services[app];
      expect(service).toBeDefined();
      expect(service.build.dockerfile).toBe(`apps/${app}/Dockerfile`);
      const environment = service.environment as Record<string, unknown>;
      for (const key of requiredVars(SCHEMAS[app])) expect({ app, key, set: key in environment }).toEqual({ app, key, set: true });
      for (const [key, value] of Object.entries(environment)) {
        // A required secret is never given a default in compose: ${VAR:?message}.
        if (/PASSWORD|TOKEN|API_KEY/.test(key) && typeof value === 'string' && value.startsWith('${')) expect(value).toMatch(/^\$\{[A-Z_]+:\?/);
      }
      for (const dependency of Object.values(service.depends_on ?? {}) as { condition: string }[]) {
        expect(dependency.condition).toBe('service_healthy');
      }
      expect(service.cap_drop).toEqual(['ALL']);
      expect(JSON.stringify(service.healthcheck.test)).toMatch(/\/health\/(readiness|liveness)/);
      expect(JSON.stringify(service.healthcheck.test)).toContain(String(environment.PORT ?? portOf(app)));
    });

    it('keeps Redis durable (appendonly) and Postgres healthchecked', () => {
      expect(compose.services.redis.command.join(' ')).toMatch(/--appendonly yes/);
      expect(compose.services.postgres.healthcheck).toBeDefined();
    });
  });

  describe('render.yaml', () => {
    const render = yaml('render.yaml');
    const services = [...(render.services ?? [])];

    it.each(APPS)('%s: a service with every required variable and a health path where Render checks one', (app) => {
      const service = services.find((s) => s.name === app);
      expect(service).toBeDefined();
      expect(service.dockerfilePath).toBe(`./apps/${app}/Dockerfile`);
      const keys = new Set<string>((service.envVars ?? []).map((v: { key?: string }) => v.key).filter(Boolean));
      const groups = (service.envVars ?? []).filter((v: { fromGroup?: string }) => v.fromGroup).map((v: { fromGroup: string }) => v.fromGroup);
      for (const group of render.envVarGroups ?? []) {
        if (groups.includes(group.name)) for (const v of group.envVars) keys.add(v.key);
      }
      for (const key of requiredVars(SCHEMAS[app])) expect({ app, key, set: keys.has(key) }).toEqual({ app, key, set: true });
      if (service.type === 'web') expect(service.healthCheckPath).toMatch(/^\/health\/(readiness|liveness)$/);
    });
  });

  describe('Helm chart (next phase)', () => {
    const values = yaml('deploy/helm/market-data/values.yaml');
    const chart = yaml('deploy/helm/market-data/Chart.yaml');

    it('is labelled next phase / production-only', () => {
      expect(JSON.stringify(chart).toLowerCase()).toContain('next phase');
      expect(read('deploy/helm/market-data/values.yaml').toLowerCase()).toContain('next phase');
    });

    it.each(APPS)('%s: values and a template with its port and both probes', (app) => {
      expect(values.apps[app]).toBeDefined();
      const template = read(`deploy/helm/market-data/templates/${app}.yaml`);
      expect(template).toContain('/health/liveness');
      expect(template).toContain('/health/readiness');
      const port = values.apps[app].port ?? values.apps[app].service?.port ?? values.apps[app].containerPort;
      expect({ app, port }).toEqual({ app, port: portOf(app) });
    });
  });

  it.each(APPS)('%s: built as an image by CI', (app) => {
    const workflow = yaml('.github/workflows/ci.yml');
    const matrix = JSON.stringify(workflow.jobs);
    expect(matrix).toContain(`"${app}"`);
    expect(JSON.stringify(workflow.jobs)).toMatch(/nx affected -t lint[^"]*test/);
  });
});
