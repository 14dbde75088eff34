# One image recipe for every deployable: the Nest apps (orchestrator-api, realtime-gateway,
# consumers, feeder) and the dashboard (its Vite build plus the Fastify server in
# apps/dashboard/server, the dashboard-server project, which serves it and proxies /api and /gw,
# adding the API key server-side). Build from the workspace root:
#   docker build --build-arg APP=orchestrator-api -t market-data/orchestrator-api .
#   docker build --build-arg APP=dashboard -t market-data/dashboard .
# (docker-compose.yml, render.yaml and the CI image matrix pass APP the same way.)
#
# Layers, from the least to the most often changed, so that a rebuild redoes only what changed:
#   deps     package.json + package-lock.json -> the workspace's node_modules. Shared by every
#            image (APP is declared after it), untouched by any source or doc edit.
#   build    build config, libs/ and apps/$APP only -> the bundle that runs (dist/apps/$APP; the
#            dashboard's is dist/apps/dashboard-server, with the Vite build dist/apps/dashboard).
#            An edit to another app's source, to docs or to tests elsewhere does not rebuild it.
#   runtime  the production dependencies of the bundle's generated package.json (cached while
#            that file is unchanged), then the bundle (and the dashboard's static build).
#            Nothing else from the workspace.
# Works with the legacy builder and BuildKit alike (no `RUN --mount`).

ARG NODE_IMAGE=node:20-bookworm-slim

# ---- deps: the whole workspace's dependencies, dev ones included (Nx, webpack, Vite, TypeScript) ----
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

# ---- build: one app's bundle and its generated package.json, laid out as the image runs it ----
FROM deps AS build
# Declared here, not above: the install layer stays the same for every app.
ARG APP
# What APP builds, checked before any source is copied: the Nx projects, the one whose webpack
# bundle runs (SERVER), and the Vite build served beside it (STATIC, the dashboard only).
RUN case "$APP" in \
      orchestrator-api|realtime-gateway|consumers|feeder) echo "PROJECTS='$APP' SERVER='$APP' STATIC=''" ;; \
      dashboard) echo "PROJECTS='dashboard dashboard-server' SERVER='dashboard-server' STATIC='dashboard'" ;; \
      *) echo "build with --build-arg APP=<orchestrator-api|realtime-gateway|consumers|feeder|dashboard> (got '$APP')" >&2; exit 1 ;; \
    esac > /tmp/target.sh
# What Nx needs to see the project graph and build (the Jest and ESLint plugins read the configs).
COPY nx.json tsconfig.base.json jest.preset.js eslint.config.mjs ./
COPY tools/webpack-app.cjs tools/jest-project.cjs tools/
COPY libs/ libs/
# The dashboard's server is a project inside it (apps/dashboard/server): one directory for both.
COPY apps/${APP}/ apps/${APP}/
# generatePackageJson (tools/webpack-app.cjs) also writes package.json + package-lock.json of
# the bundle's production dependencies, runtime-only ones (pg, tslib) included. /image is the
# runtime's file tree: the bundle in app/, and the static build in <STATIC>/ beside it, where
# the dashboard server looks for it (apps/dashboard/server/src/server.ts: STATIC_DIR is
# ../dashboard from its own directory).
RUN . /tmp/target.sh \
 && npx nx run-many -t build -p $PROJECTS --outputStyle=static \
 && mkdir /image \
 && cp -R "dist/apps/$SERVER" /image/app \
 && if [ -n "$STATIC" ]; then cp -R "dist/apps/$STATIC" "/image/$STATIC"; fi

# ---- runtime: the bundle's production dependencies and its files only ----
FROM ${NODE_IMAGE} AS runtime
ARG APP
# APP stays in the environment for the healthcheck script (the app's default port); the apps ignore it.
ENV NODE_ENV=production \
    APP=${APP}
WORKDIR /app
COPY --from=build /image/app/package.json /image/app/package-lock.json ./
RUN npm install --omit=dev --no-audit --no-fund \
 && npm cache clean --force
COPY deploy/docker/healthcheck.cjs /usr/local/lib/healthcheck.cjs
# /app (the bundle), and for the dashboard /dashboard beside it (/app/../dashboard).
COPY --from=build /image/ /
# Files stay root-owned (read-only for the app); the process runs as the image's non-root
# `node` user (uid 1000), and deployments also make the root filesystem read-only.
USER node
# The apps' default ports (each listens on $PORT when set): orchestrator-api 3000 (and its
# internal listener, INTERNAL_PORT 3100), realtime-gateway 3001, consumers 3002, feeder 3003,
# dashboard 5173. The dashboard needs API_URL, GATEWAY_URL (and CONSUMERS_URL, FEEDER_URL) set
# to the services' internal addresses, API_KEY to the api's key, and API_PUBLIC_URL to where
# browsers reach the api's docs and queue admin UI.
EXPOSE 3000 3001 3002 3003 3100 5173
# Liveness only (the process answers), so a down dependency never marks the container
# unhealthy; deployments probe readiness themselves. No curl in the slim image: node's fetch.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "/usr/local/lib/healthcheck.cjs", "/health/liveness"]
CMD ["node", "main.js"]
