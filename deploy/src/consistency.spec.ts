import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { getMetadataStorage } from 'class-validator';
import { parse } from 'yaml';
import {
  BaseEnv,
  ConsumersEnv,
  DashboardEnv,
  envKeysOf,
  FeederEnv,
  GatewayEnv,
  OrchestratorApiEnv,
  PipelineEnv,
  ServiceEnv,
  validateEnv,
} from '@md/config';

/**
 * The deployment files tell the same story as the code (house style rule 13). No Docker
 * engine, Kubernetes or Render runs here, so this reads the files and fails when they drift:
 * every app is built by the one Dockerfile and has a service in compose, Render, Helm and the CI image matrix;
 * every variable an app's config requires is set there, and every variable set there is one
 * it reads; ports and probe paths match; the apps that must share a value (the realtime
 * channel's keys, the Redis, the API key) are wired to the same source.
 * (helm is not installable from this machine's registries, so `helm lint` does not run.)
 */
const ROOT = join(__dirname, '../..');
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');
const yaml = (path: string) => parse(read(path)) as any; // eslint-disable-line @typescript-eslint/no-explicit-any

/** The schema of each deployable Nest app. A new app under apps/ without an entry fails the first test. */
const SCHEMAS: Record<string, new () => BaseEnv> = {
  'orchestrator-api': OrchestratorApiEnv,
  'realtime-gateway': GatewayEnv,
  consumers: ConsumersEnv,
  feeder: FeederEnv,
};
/**
 * Not Nest apps: the dashboard is a Vite build served by its own Fastify server
 * (apps/dashboard/server, the dashboard-server project), whose variables are DashboardEnv's.
 * The same Dockerfile builds it (APP=dashboard), and it gets the deployment checks too, and its own.
 */
const NOT_NEST = new Set(['dashboard']);
const APPS = readdirSync(join(ROOT, 'apps')).filter((name) => existsSync(join(ROOT, 'apps', name, 'project.json')) && !NOT_NEST.has(name));
/** Every app a deployment runs: the Nest apps and the dashboard. */
const DEPLOYABLES = [...APPS, ...NOT_NEST];

/** Variables without a default that are not optional: a deployment must set them. */
function requiredVars(schema: new () => BaseEnv): string[] {
  const instance = new schema() as unknown as Record<string, unknown>;
  const metadata = getMetadataStorage().getTargetValidationMetadatas(schema, '', true, false);
  const optional = new Set(metadata.filter((m) => m.type === 'conditionalValidation').map((m) => m.propertyName));
  return envKeysOf(schema).filter((key) => instance[key] === undefined && !optional.has(key));
}

/** The dashboard server's variables and their defaults (undefined: none), from DashboardEnv. */
function dashboardVars(): Record<string, string | undefined> {
  const defaults = new DashboardEnv() as unknown as Record<string, unknown>;
  return Object.fromEntries(envKeysOf(DashboardEnv).map((key) => [key, defaults[key] === undefined ? undefined : String(defaults[key])]));
}
const DASHBOARD = dashboardVars();

/** What each deployable reads: the variables it knows, those a deployment must set, its default port. */
const knownVars = (app: string): string[] => (app in SCHEMAS ? envKeysOf(SCHEMAS[app]) : Object.keys(DASHBOARD));
const requiredOf = (app: string): string[] => (app in SCHEMAS ? requiredVars(SCHEMAS[app]) : []);
const portOf = (app: string): number => (app in SCHEMAS ? new SCHEMAS[app]().PORT : Number(DASHBOARD.PORT));

/** Secret-like names: never given a default in compose. */
const SECRET = /PASSWORD|TOKEN|API_KEY/;
const appsOf = (base: typeof BaseEnv) => APPS.filter((app) => new SCHEMAS[app]() instanceof base).sort();
/**
 * Values several apps must hold alike, with the apps that read them. The gateway reads
 * <prefix>:views and <prefix>:history:<channel> as the api and the consumers write them, and
 * STREAM_HISTORY bounds its resume; the api reports on the queues the consumers work, and both
 * keep the dedupe window.
 */
const SHARED: { keys: string[]; apps: string[] }[] = [
  { keys: ['REDIS_PREFIX', 'PUBSUB_CHANNEL', 'STREAM_HISTORY'], apps: appsOf(ServiceEnv) },
  { keys: ['QUEUE_NAME', 'VIEW_QUEUE_NAME', 'DEDUPE_TTL_S'], apps: appsOf(PipelineEnv) },
];
const defaultOf = (app: string, key: string) => String((new SCHEMAS[app]() as unknown as Record<string, unknown>)[key]);
/** The api's default internal port (INTERNAL_PORT: /internal/*, for the consumers only). */
const API_INTERNAL_PORT = Number(defaultOf('orchestrator-api', 'INTERNAL_PORT'));
/** Build arguments that deployments pass as env vars (Render hands env vars to `docker build`); the apps ignore them. */
const BUILD_ARGS = ['APP'];
/** The one Dockerfile every deployable is built from (its APP build argument), relative to the workspace root. */
const DOCKERFILE = 'Dockerfile';
/** Fails naming each app and key whose value (as `effective` reads it from one file) is not the api's. */
function expectSharedAlike(effective: (app: string, key: string) => string) {
  for (const { keys, apps } of SHARED) {
    for (const app of apps) {
      for (const key of keys)
        expect({ app, key, value: effective(app, key) }).toEqual({ app, key, value: effective('orchestrator-api', key) });
    }
  }
}
/** The dashboard server's upstreams: the variable and the app it must point at. */
const UPSTREAMS: Record<string, string> = {
  API_URL: 'orchestrator-api',
  GATEWAY_URL: 'realtime-gateway',
  CONSUMERS_URL: 'consumers',
  FEEDER_URL: 'feeder',
};

describe('deployment files agree with the code', () => {
  it('knows the config schema of every app', () => {
    expect(APPS.sort()).toEqual(Object.keys(SCHEMAS).sort());
  });

  it('reads required variables from the schemas (the check itself works)', () => {
    expect(requiredVars(OrchestratorApiEnv).sort()).toEqual(['INGEST_PASSWORD', 'INGEST_USERNAME', 'INTERNAL_TOKEN']);
    expect(requiredVars(ConsumersEnv)).toEqual(['INTERNAL_TOKEN']);
    expect(requiredVars(FeederEnv).sort()).toEqual(['INGEST_PASSWORD', 'INGEST_USERNAME']);
    expect(requiredVars(GatewayEnv)).toEqual([]);
    expect(SHARED.map(({ apps }) => apps)).toEqual([
      ['consumers', 'orchestrator-api', 'realtime-gateway'],
      ['consumers', 'orchestrator-api'],
    ]);
  });

  it("reads the dashboard server's variables from DashboardEnv (the check itself works)", () => {
    expect(Object.keys(DASHBOARD)).toEqual(
      expect.arrayContaining(['PORT', 'API_KEY', 'GATEWAY_PUBLIC_URL', 'API_PUBLIC_URL', ...Object.keys(UPSTREAMS)]),
    );
    expect(DASHBOARD.API_KEY).toBeUndefined();
    expect(portOf('dashboard')).toBe(5173);
  });

  describe('Dockerfile', () => {
    const dockerfile = read(DOCKERFILE);
    /** The instructions of one stage (`FROM … AS name` up to the next FROM), comments dropped. */
    const stage = (text: string, name: string) =>
      (new RegExp(`^FROM \\S+ AS ${name}$[\\s\\S]*?(?=^FROM |(?![\\s\\S]))`, 'm').exec(text)?.[0] ?? '')
        .split('\n')
        .filter((line) => line.trim() && !line.startsWith('#'))
        .join('\n');
    /** The default ports the images' healthcheck script knows, from deploy/docker/healthcheck.cjs. */
    const healthcheckPorts = JSON.parse(
      (/DEFAULT_PORTS = (\{[^}]*\})/.exec(read('deploy/docker/healthcheck.cjs'))?.[1] ?? '{}')
        .replace(/'/g, '"')
        .replace(/([{,]\s*)([a-z]+):/g, '$1"$2":'),
    );

    /** The branches of the Dockerfile's `case "$APP" in`: each pattern's apps, and the line it runs. */
    const branches = [...(/case "\$APP" in([\s\S]*?)esac/.exec(dockerfile)?.[1] ?? '').matchAll(/^\s*([a-z|-]+)\) (.*?) ;; \\$/gm)].map(
      ([, pattern, body]) => ({ apps: pattern.split('|'), body }),
    );
    /** The shell variables the branch of `app` sets, e.g. { PROJECTS: 'dashboard dashboard-server', … }. */
    const targetOf = (app: string): Record<string, string> =>
      Object.fromEntries(
        [...(branches.find((b) => b.apps.includes(app))?.body.matchAll(/([A-Z]+)='([^']*)'/g) ?? [])].map(([, key, value]) => [
          key,
          value.replaceAll('$APP', app),
        ]),
      );

    it('one Dockerfile for every deployable, chosen by the APP build argument; no per-app copies', () => {
      for (const app of DEPLOYABLES)
        expect({ app, ownDockerfile: existsSync(join(ROOT, 'apps', app, 'Dockerfile')) }).toEqual({ app, ownDockerfile: false });
      expect(dockerfile).toMatch(/^ARG APP$/m);
      const allowed = branches.flatMap((b) => b.apps);
      expect(allowed.sort()).toEqual([...DEPLOYABLES].sort());
      expect(dockerfile).toMatch(/npx nx run-many -t build -p \$PROJECTS\b/);
      expect(dockerfile).toMatch(/COPY apps\/\$\{APP\}\/ apps\/\$\{APP\}\//);
    });

    it.each(APPS)('%s: builds its own project, whose bundle runs; nothing static beside it', (app) => {
      expect(targetOf(app)).toEqual({ PROJECTS: app, SERVER: app, STATIC: '' });
    });

    it('dashboard: builds the Vite app and its server, which runs with the static build at ../dashboard', () => {
      expect(targetOf('dashboard')).toEqual({ PROJECTS: 'dashboard dashboard-server', SERVER: 'dashboard-server', STATIC: 'dashboard' });
      // The server serves resolve(__dirname, '../dashboard'): the image puts the bundle in /app, the build in /dashboard.
      expect(read('apps/dashboard/server/src/server.ts')).toMatch(/STATIC_DIR = resolve\(__dirname, '\.\.\/dashboard'\)/);
      expect(dockerfile).toMatch(/cp -R "dist\/apps\/\$SERVER" \/image\/app\b/);
      expect(dockerfile).toMatch(/cp -R "dist\/apps\/\$STATIC" "\/image\/\$STATIC"/);
      expect(dockerfile).toMatch(/^WORKDIR \/app$/m);
      expect(dockerfile).toMatch(/^COPY --from=build \/image\/ \/$/m);
    });

    it('npm install before any source, non-root user, liveness HEALTHCHECK', () => {
      const text = dockerfile;
      expect(text).toMatch(/RUN npm install\b/);
      expect(text).not.toMatch(/RUN npm ci\b/);
      expect(text).not.toMatch(/^COPY \. /m);
      // The dependency layer sees the manifests only: a source or doc edit leaves it cached.
      const deps = stage(text, 'deps');
      expect(deps.match(/^COPY .*/gm)).toEqual(['COPY package.json package-lock.json ./']);
      expect(deps).toMatch(/RUN npm install\b/);
      expect(text).toMatch(/^USER (?!root)\S+/m);
      expect(text).toMatch(/HEALTHCHECK[\s\S]*\/health\/liveness/);
    });

    it('one deps stage, without APP (one cached install for all images)', () => {
      expect(dockerfile.match(/^FROM \S+ AS deps$/gm)).toHaveLength(1);
      expect(stage(dockerfile, 'deps')).not.toMatch(/\bAPP\b/);
    });

    it('APP is declared after the install, so every app reuses the same install layer', () => {
      expect(dockerfile.indexOf('ARG APP')).toBeGreaterThan(dockerfile.indexOf('RUN npm install'));
    });

    it.each(DEPLOYABLES)('%s: the healthcheck script knows its default port, and the image exposes it', (app) => {
      expect({ app, port: healthcheckPorts[app] }).toEqual({ app, port: portOf(app) });
      expect(dockerfile).toMatch(new RegExp(`^EXPOSE .*\\b${portOf(app)}\\b`, 'm'));
    });

    it("exposes the api's internal port", () => {
      expect(dockerfile).toMatch(new RegExp(`^EXPOSE .*\\b${API_INTERNAL_PORT}\\b`, 'm'));
    });
  });

  describe('docker-compose.yml', () => {
    const compose = yaml('docker-compose.yml');

    const environmentOf = (app: string) => compose.services[app].environment as Record<string, unknown>;
    /** The value a ServiceEnv app runs with: set in compose, else its schema's default. */
    const effective = (app: string, key: string) => String(environmentOf(app)[key] ?? defaultOf(app, key));
    /** `${API_KEY:?…}` → API_KEY: which shell variable a compose value comes from. */
    const sourceOf = (value: unknown) => /^\$\{([A-Z_]+)[:}?-]/.exec(String(value))?.[1] ?? value;

    it.each(DEPLOYABLES)(
      '%s: a service with every required variable, only known ones, healthy dependencies, dropped capabilities',
      (app) => {
        const service = compose.services[app];
        expect(service).toBeDefined();
        expect(service.build.dockerfile).toBe(DOCKERFILE);
        expect(service.build.args).toEqual({ APP: app });
        // The registry and tag CI pushes to can replace the local build.
        expect(service.image).toBe(`\${IMAGE_PREFIX:-market-data}/${app}:\${IMAGE_TAG:-local}`);
        const environment = service.environment as Record<string, unknown>;
        for (const key of requiredOf(app)) expect({ app, key, set: key in environment }).toEqual({ app, key, set: true });
        const known = knownVars(app);
        for (const key of Object.keys(environment)) expect({ app, key, known: known.includes(key) }).toEqual({ app, key, known: true });
        for (const [key, value] of Object.entries(environment)) {
          // A secret is never given a default in compose: ${VAR:?message} when required; an
          // optional one may also be ${VAR:-} (empty counts as unset), never a made-up value.
          if (!SECRET.test(key) || typeof value !== 'string' || !value.startsWith('${')) continue;
          expect({ key, value }).toEqual({
            key,
            value: requiredOf(app).includes(key)
              ? expect.stringMatching(/^\$\{[A-Z_]+:\?/)
              : expect.stringMatching(/^\$\{[A-Z_]+(:\?.*|:-)\}$/),
          });
        }
        for (const dependency of Object.values(service.depends_on ?? {}) as { condition: string }[]) {
          expect(dependency.condition).toBe('service_healthy');
        }
        expect(service.cap_drop).toEqual(['ALL']);
        expect(service.read_only).toBe(true);
        expect(JSON.stringify(service.healthcheck.test)).toMatch(/\/health\/(readiness|liveness)/);
        // The images' healthcheck script probes $PORT: set here, it is the port the app listens on.
        expect(JSON.stringify(service.healthcheck.test)).toContain('healthcheck.cjs');
        expect(environment.PORT).toBe(String(portOf(app)));
      },
    );

    it('orchestrator-api: publishes its PORT, never its INTERNAL_PORT; the consumers post views to the latter', () => {
      const api = compose.services['orchestrator-api'];
      const internal = effective('orchestrator-api', 'INTERNAL_PORT');
      expect(internal).toBe(String(API_INTERNAL_PORT));
      expect(api.ports.map((p: string) => p.split(':').pop())).toEqual([effective('orchestrator-api', 'PORT')]);
      expect(environmentOf('consumers').ORCHESTRATOR_URL).toBe(`http://orchestrator-api:${internal}`);
      expect(environmentOf('feeder').TARGET_URL).toBe(`http://orchestrator-api:${effective('orchestrator-api', 'PORT')}/ingest/tick`);
    });

    it("the realtime channel's keys, the queues and the dedupe window of the api wherever they are read", () => {
      expectSharedAlike(effective);
    });

    it('realtime-gateway: the Redis and the API key of the api', () => {
      expect(environmentOf('realtime-gateway').REDIS_URL).toBe(environmentOf('orchestrator-api').REDIS_URL);
      expect(sourceOf(environmentOf('realtime-gateway').API_KEY)).toBe(sourceOf(environmentOf('orchestrator-api').API_KEY));
    });

    it("dashboard: the api's key, upstreams at the services' ports, up after the api and the gateway", () => {
      const service = compose.services.dashboard;
      const environment = environmentOf('dashboard');
      expect(environment.API_KEY).toBeDefined();
      expect(sourceOf(environment.API_KEY)).toBe(sourceOf(environmentOf('orchestrator-api').API_KEY));
      for (const [key, upstream] of Object.entries(UPSTREAMS)) {
        const port = environmentOf(upstream).PORT ?? portOf(upstream);
        expect({ key, url: environment[key] }).toEqual({ key, url: `http://${upstream}:${port}` });
      }
      expect(Object.keys(service.depends_on)).toEqual(expect.arrayContaining(['orchestrator-api', 'realtime-gateway']));
      expect(service.ports).toEqual([`\${DASHBOARD_PORT:-${portOf('dashboard')}}:${environment.PORT ?? portOf('dashboard')}`]);
    });

    it('keeps Redis durable (appendonly), reachable from the other containers, and Postgres healthchecked', () => {
      expect(compose.services.redis.command.join(' ')).toMatch(/--appendonly yes/);
      // The command replaces the image's default one, which turns protected mode off.
      expect(compose.services.redis.command.join(' ')).toMatch(/--protected-mode no/);
      expect(compose.services.redis.ports).toBeUndefined();
      expect(compose.services.postgres.healthcheck).toBeDefined();
    });
  });

  describe('render.yaml', () => {
    const render = yaml('render.yaml');
    const services = [...(render.services ?? [])];

    type EnvVar = { key?: string; value?: unknown; fromGroup?: string; fromService?: Record<string, string>; [other: string]: unknown };
    const serviceOf = (app: string) => services.find((s) => s.name === app);
    /** Where a service's variable comes from: its own entry, or `{ group }` when an env group it reads holds it. */
    const entryOf = (app: string, key: string): EnvVar | { group: string } | undefined => {
      const envVars: EnvVar[] = serviceOf(app).envVars ?? [];
      const own = envVars.find((v) => v.key === key);
      if (own) return own;
      const groups = envVars.filter((v) => v.fromGroup).map((v) => v.fromGroup);
      const group = (render.envVarGroups ?? []).find(
        (g: { name: string; envVars: EnvVar[] }) => groups.includes(g.name) && g.envVars.some((v) => v.key === key),
      );
      return group ? { group: group.name } : undefined;
    };
    /**
     * The same value for both: `app` reads it from the api's env, or both read the same group or
     * the same resource. Two `generateValue` (or `sync: false`) entries are two different values.
     */
    const sharedWithApi = (app: string, key: string) => {
      const mine = entryOf(app, key);
      const api = entryOf('orchestrator-api', key);
      if (mine === undefined || api === undefined) return false;
      if ('fromService' in mine && mine.fromService?.name === 'orchestrator-api' && mine.fromService.envVarKey === key) return true;
      const fixed = 'group' in mine || 'fromService' in mine || 'fromDatabase' in mine || 'value' in mine;
      return fixed && JSON.stringify(mine) === JSON.stringify(api);
    };
    /** The value a ServiceEnv app runs with, for a plain `value`; else where it comes from. */
    const effective = (app: string, key: string) => {
      const entry = entryOf(app, key);
      if (entry === undefined) return defaultOf(app, key);
      return 'value' in entry ? String(entry.value) : JSON.stringify(entry);
    };

    it.each(DEPLOYABLES)(
      '%s: a service with every required variable, only known ones, and a health path where Render checks one',
      (app) => {
        const service = serviceOf(app);
        expect(service).toBeDefined();
        expect(service.dockerfilePath).toBe(`./${DOCKERFILE}`);
        expect(service.dockerContext).toBe('.');
        // The root Dockerfile's APP build argument, from the service's env (Render passes env vars to docker build).
        expect(entryOf(app, 'APP')).toEqual({ key: 'APP', value: app });
        const own: string[] = (service.envVars ?? []).map((v: EnvVar) => v.key).filter(Boolean);
        const keys = new Set(own);
        const groups = (service.envVars ?? []).filter((v: EnvVar) => v.fromGroup).map((v: EnvVar) => v.fromGroup);
        for (const group of render.envVarGroups ?? []) {
          if (groups.includes(group.name)) for (const v of group.envVars) keys.add(v.key);
        }
        for (const key of requiredOf(app)) expect({ app, key, set: keys.has(key) }).toEqual({ app, key, set: true });
        const known = [...knownVars(app), ...BUILD_ARGS];
        for (const key of keys) expect({ app, key, known: known.includes(key) }).toEqual({ app, key, known: true });
        if (service.type === 'web') expect(service.healthCheckPath).toMatch(/^\/health\/(readiness|liveness)$/);
      },
    );

    it("the realtime channel's keys, the queues and the dedupe window of the api wherever they are read", () => {
      expectSharedAlike(effective);
    });

    it('realtime-gateway: a web service with the Redis and the API key of the api', () => {
      expect(serviceOf('realtime-gateway').type).toBe('web');
      expect(sharedWithApi('realtime-gateway', 'REDIS_URL')).toBe(true);
      expect(sharedWithApi('realtime-gateway', 'API_KEY')).toBe(true);
    });

    it("dashboard: a web service with the api's key and every service's private address", () => {
      expect(serviceOf('dashboard').type).toBe('web');
      expect(sharedWithApi('dashboard', 'API_KEY')).toBe(true);
      // A bare host:port (Render's hostport), which the dashboard server reads as http://host:port.
      for (const [key, upstream] of Object.entries(UPSTREAMS)) {
        expect(entryOf('dashboard', key)).toEqual({
          key,
          fromService: { type: serviceOf(upstream).type, name: upstream, property: 'hostport' },
        });
      }
    });

    it('consumers and feeder: private services, so the pipeline panel can probe them over the private network', () => {
      expect(serviceOf('consumers').type).toBe('pserv');
      expect(serviceOf('feeder').type).toBe('pserv');
    });

    it('api and gateway: health checks on liveness, so a Redis outage does not restart every instance', () => {
      expect(serviceOf('orchestrator-api').healthCheckPath).toBe('/health/liveness');
      expect(serviceOf('realtime-gateway').healthCheckPath).toBe('/health/liveness');
    });

    it("consumers reach the api's internal listener; the feeder its ingest; both over the private network", () => {
      const internal = effective('orchestrator-api', 'INTERNAL_PORT');
      expect(internal).toBe(String(API_INTERNAL_PORT));
      // `host`: the consumers' config reads a bare host as http://host:<the api's default INTERNAL_PORT>.
      expect(entryOf('consumers', 'ORCHESTRATOR_URL')).toEqual({
        key: 'ORCHESTRATOR_URL',
        fromService: { type: 'web', name: 'orchestrator-api', property: 'host' },
      });
      expect(
        validateEnv(ConsumersEnv, { INTERNAL_TOKEN: 'x'.repeat(32), ORCHESTRATOR_URL: 'orchestrator-api-x1y2' }).ORCHESTRATOR_URL,
      ).toBe(`http://orchestrator-api-x1y2:${internal}`);
      // `hostport` of the api (its public PORT): the feeder's config reads it as http://host:port/ingest/tick.
      expect(entryOf('feeder', 'TARGET_URL')).toEqual({
        key: 'TARGET_URL',
        fromService: { type: 'web', name: 'orchestrator-api', property: 'hostport' },
      });
    });
  });

  describe('Helm chart (next phase)', () => {
    const values = yaml('deploy/helm/market-data/values.yaml');
    const chart = yaml('deploy/helm/market-data/Chart.yaml');

    it('is labelled next phase / production-only', () => {
      expect(JSON.stringify(chart).toLowerCase()).toContain('next phase');
      expect(read('deploy/helm/market-data/values.yaml').toLowerCase()).toContain('next phase');
    });

    /** The value a ServiceEnv app runs with: its own env, else the shared env, else its schema's default. */
    const effective = (app: string, key: string) => String(values.apps[app].env?.[key] ?? values.env?.[key] ?? defaultOf(app, key));
    const template = (app: string) => read(`deploy/helm/market-data/templates/${app}.yaml`);
    /** A secretKeyRef to `key` in the Secret of `existingSecret` (the app's, defaulting to the shared one). */
    const secretKeyRef = (key: string) => new RegExp(`secretKeyRef:\\s+name: \\{\\{ \\$secret \\}\\}\\s+key: ${key}\\b`);

    it.each(DEPLOYABLES)('%s: values and a template with its port, both probes and only known variables', (app) => {
      expect(values.apps[app]).toBeDefined();
      expect(template(app)).toContain('/health/liveness');
      expect(template(app)).toContain('/health/readiness');
      const port = values.apps[app].port ?? values.apps[app].service?.port ?? values.apps[app].containerPort;
      expect({ app, port }).toEqual({ app, port: portOf(app) });
      const known = knownVars(app);
      for (const key of Object.keys(values.apps[app].env ?? {}))
        expect({ app, key, known: known.includes(key) }).toEqual({ app, key, known: true });
    });

    it("the realtime channel's keys, the queues and the dedupe window of the api wherever they are read", () => {
      expectSharedAlike(effective);
    });

    it("orchestrator-api: the internal port on the ClusterIP Service only, and the consumers' default URL points at it", () => {
      const api = values.apps['orchestrator-api'];
      expect(api.internalPort).toBe(API_INTERNAL_PORT);
      expect(effective('orchestrator-api', 'INTERNAL_PORT')).toBe(String(api.internalPort));
      expect(template('orchestrator-api')).toMatch(/name: internal\s+containerPort: \{\{ \$app\.internalPort \}\}/);
      expect(template('orchestrator-api')).toMatch(/name: internal\s+port: \{\{ \$app\.internalPort \}\}/);
      // The internal port only on a Service of its own that is always ClusterIP, never on the one whose type is .Values.service.type.
      const services = template('orchestrator-api')
        .split(/^---$/m)
        .filter((doc) => /^kind: Service$/m.test(doc));
      const internal = services.filter((doc) => doc.includes('name: internal'));
      expect(internal).toHaveLength(1);
      expect(internal[0]).toMatch(/^ {2}type: ClusterIP$/m);
      expect(internal[0]).toContain('name: {{ include "market-data.internalServiceName" $ctx }}');
      expect(services.filter((doc) => doc.includes('.Values.service.type')).every((doc) => !doc.includes('internal'))).toBe(true);
      expect(template('consumers')).toMatch(
        /"ORCHESTRATOR_URL" \(printf "http:\/\/%s:%v" \(include "market-data\.internalServiceName" \$apiCtx\)[^\n]*\$api\.internalPort/,
      );
      // Ingresses route to the http port only.
      expect(read('deploy/helm/market-data/templates/ingress.yaml')).toMatch(/port:\s+name: http\b/);
      expect(read('deploy/helm/market-data/templates/ingress.yaml')).not.toContain('internal');
    });

    it('takes a registry prefix and a tag for every image (what CI pushes), the local names by default', () => {
      expect(values.image).toEqual({ prefix: 'market-data', tag: expect.any(String) });
      for (const app of DEPLOYABLES) expect(values.apps[app].image.repository).toBe(app);
      expect(read('deploy/helm/market-data/templates/_helpers.tpl')).toMatch(
        /define "market-data\.image"[\s\S]*\.root\.Values\.image[\s\S]*prefix/,
      );
    });

    it("realtime-gateway: Redis and the API key from the api's Secret, an HPA and a PDB", () => {
      const gateway = values.apps['realtime-gateway'];
      expect(template('realtime-gateway')).toMatch(secretKeyRef('REDIS_URL'));
      expect(template('realtime-gateway')).toMatch(secretKeyRef('API_KEY'));
      expect(template('realtime-gateway')).toMatch(
        /\$secret := required [^\n]*\(\$app\.existingSecret \| default \.Values\.existingSecret\)/,
      );
      expect([undefined, '', values.existingSecret]).toContain(gateway.existingSecret);
      expect(template('realtime-gateway')).toContain('kind: HorizontalPodAutoscaler');
      expect(gateway.autoscaling).toMatchObject({ enabled: true, minReplicas: expect.any(Number), maxReplicas: expect.any(Number) });
      expect(gateway.autoscaling.minReplicas).toBeGreaterThanOrEqual(2);
      expect(gateway.pdb).toMatchObject({ enabled: true });
    });

    it("dashboard: the api's key from the api's Secret, and a PDB", () => {
      const dashboard = values.apps.dashboard;
      expect(template('dashboard')).toMatch(secretKeyRef('API_KEY'));
      expect(template('dashboard')).toMatch(/\$secret := required [^\n]*\(\$app\.existingSecret \| default \.Values\.existingSecret\)/);
      expect([undefined, '', values.existingSecret]).toContain(dashboard.existingSecret);
      expect({ ...values.env, ...dashboard.env }).not.toHaveProperty('API_KEY');
      expect(dashboard.pdb).toMatchObject({ enabled: true });
    });

    it('keeps the HPA of the consumers', () => {
      expect(template('consumers')).toContain('kind: HorizontalPodAutoscaler');
      expect(values.apps.consumers.autoscaling).toBeDefined();
    });
  });

  describe('CI workflow', () => {
    const workflow = yaml('.github/workflows/ci.yml');
    const steps = (job: string): { run?: string; uses?: string; with?: Record<string, string> }[] => workflow.jobs[job].steps;
    const runs = Object.keys(workflow.jobs).flatMap((job) => steps(job).map((step) => step.run ?? ''));

    it.each(DEPLOYABLES)('%s: built and pushed as an image from the Dockerfile', (app) => {
      expect(workflow.jobs.images.strategy.matrix.app).toContain(app);
    });

    it('lets nx-set-shas read past runs, and lints, tests and builds what changed', () => {
      expect(workflow.permissions).toMatchObject({ contents: 'read', actions: 'read' });
      expect(runs.join('\n')).toMatch(/nx affected -t lint[^\n]*test/);
    });

    it('runs the integration tests one project at a time, after the build they start', () => {
      expect(runs.join('\n')).toMatch(/nx affected -t integration --parallel=1\b/);
      const nx = JSON.parse(read('nx.json'));
      expect(nx.targetDefaults.integration.dependsOn).toContain('build');
      expect(nx.targetDefaults.integration.parallelism).toBe(false);
    });

    it('tests Node 20, 22 and 24', () => {
      expect(workflow.jobs.ci.strategy.matrix.node).toEqual([20, 22, 24]);
      expect(JSON.parse(read('package.json')).engines.node).toBe('^20.19.0 || ^22.12.0 || ^24.0.0');
    });

    it('updates the package lists before every apt-get install', () => {
      for (const run of runs.filter((r) => /apt-get install/.test(r))) expect(run).toMatch(/apt-get update[\s\S]*apt-get install/);
    });

    it('runs test:deploy, and pushes images tagged by docker/metadata-action only after it passed', () => {
      expect(steps('deploy').some((step) => step.run === 'npm run test:deploy')).toBe(true);
      expect(workflow.jobs.images.needs).toEqual(expect.arrayContaining(['ci', 'deploy']));
      expect(workflow.jobs.images.if).toMatch(/github\.event_name == 'push'/);
      const meta = steps('images').find((step) => step.uses?.startsWith('docker/metadata-action@'));
      expect(meta?.with?.tags).toMatch(/type=semver/);
      expect(meta?.with?.tags).toMatch(/type=sha/);
      const build = steps('images').find((step) => step.uses?.startsWith('docker/build-push-action@'));
      expect(build?.with).toMatchObject({
        file: DOCKERFILE,
        'build-args': 'APP=${{ matrix.app }}',
        tags: '${{ steps.meta.outputs.tags }}',
      });
    });

    it("the consistency spec's own Nx inputs name every file it reads", () => {
      const inputs: string[] = JSON.parse(read('deploy/project.json')).targets.test.inputs;
      const files = [
        DOCKERFILE,
        'apps/*/Dockerfile',
        'apps/dashboard/server/src/server.ts',
        'docker-compose.yml',
        'render.yaml',
        '.github/workflows/*.yml',
      ];
      for (const file of files) {
        expect(inputs).toContain(`{workspaceRoot}/${file}`);
      }
    });
  });
});
