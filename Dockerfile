# One image recipe for every Nest app (orchestrator-api, realtime-gateway, consumers, feeder);
# the dashboard has its own (apps/dashboard/Dockerfile). Build from the workspace root:
#   docker build --build-arg APP=orchestrator-api -t market-data/orchestrator-api .
# (docker-compose.yml, render.yaml and the CI image matrix pass APP the same way.)
#
# Layers, from the least to the most often changed, so that a rebuild redoes only what changed:
#   deps     package.json + package-lock.json -> the workspace's node_modules. Shared by every
#            app (APP is declared after it), untouched by any source or doc edit.
#   build    build config, libs/ and apps/$APP only -> dist/apps/$APP. An edit to another app's
#            source, to docs or to tests elsewhere does not rebuild it.
#   runtime  the production dependencies of the generated dist/apps/$APP/package.json (cached
#            while that file is unchanged), then the bundle. Nothing else from the workspace.
# Works with the legacy builder and BuildKit alike (no `RUN --mount`).

ARG NODE_IMAGE=node:20-bookworm-slim

# ---- deps: the whole workspace's dependencies, dev ones included (Nx, webpack, TypeScript) ----
FROM ${NODE_IMAGE} AS deps
WORKDIR /workspace
ENV NX_DAEMON=false \
    NX_NO_CLOUD=true \
    CI=true
COPY package.json package-lock.json ./
# Not `npm ci`: this registry leaves some platform-specific optional deps out of the lockfile,
# so `npm ci` fails; `npm install` honours the lockfile's versions.
RUN npm install --no-audit --no-fund \
 && npm cache clean --force

# ---- build: one app's webpack bundle and its generated package.json ----
FROM deps AS build
# Declared here, not above: the install layer stays the same for every app.
ARG APP
RUN case "$APP" in \
      orchestrator-api|realtime-gateway|consumers|feeder) ;; \
      *) echo "build with --build-arg APP=<orchestrator-api|realtime-gateway|consumers|feeder> (got '$APP')" >&2; exit 1 ;; \
    esac
# What Nx needs to see the project graph and build (the Jest and ESLint plugins read the configs).
COPY nx.json tsconfig.base.json jest.preset.js eslint.config.mjs ./
COPY tools/webpack-app.cjs tools/jest-project.cjs tools/
COPY libs/ libs/
COPY apps/${APP}/ apps/${APP}/
# generatePackageJson (tools/webpack-app.cjs) also writes package.json + package-lock.json of
# the bundle's production dependencies, runtime-only ones (pg, tslib) included.
RUN npx nx build ${APP} --outputStyle=static

# ---- runtime: the app's production dependencies and its bundle only ----
FROM ${NODE_IMAGE} AS runtime
ARG APP
# APP stays in the environment for the healthcheck script (the app's default port); the apps ignore it.
ENV NODE_ENV=production \
    APP=${APP}
WORKDIR /app
COPY --from=build /workspace/dist/apps/${APP}/package.json /workspace/dist/apps/${APP}/package-lock.json ./
RUN npm install --omit=dev --no-audit --no-fund \
 && npm cache clean --force
COPY deploy/docker/healthcheck.cjs /usr/local/lib/healthcheck.cjs
COPY --from=build /workspace/dist/apps/${APP}/ ./
# Files stay root-owned (read-only for the app); the process runs as the image's non-root
# `node` user (uid 1000), and deployments also make the root filesystem read-only.
USER node
# The apps' default ports (each listens on $PORT when set): orchestrator-api 3000 (and its
# internal listener, INTERNAL_PORT 3100), realtime-gateway 3001, consumers 3002, feeder 3003.
EXPOSE 3000 3001 3002 3003 3100
# Liveness only (the process answers), so a down dependency never marks the container
# unhealthy; deployments probe readiness themselves. No curl in the slim image: node's fetch.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "/usr/local/lib/healthcheck.cjs", "/health/liveness"]
CMD ["node", "main.js"]
