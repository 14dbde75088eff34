#!/usr/bin/env node
/**
 * `npm run compose:env [-- <file>]`: writes the .env that docker-compose.yml reads (default
 * ./.env, git-ignored), with generated secrets for every variable compose requires
 * (POSTGRES_PASSWORD, INGEST_USERNAME, INGEST_PASSWORD, API_KEY, INTERNAL_TOKEN) and the queue
 * admin UI's login. Run again: keeps every value already there, adds only what is missing.
 * Then: docker compose up -d --build.
 */
import { COMPOSE_GENERATED, ensureEnvFile } from './env-secrets.mjs';

const file = process.argv[2] ?? '.env';
const { env, added } = ensureEnvFile(
  file,
  COMPOSE_GENERATED,
  '# docker compose settings written by `npm run compose:env` (git-ignored, owner-only). Keep it secret.\n',
);
console.log(added.length > 0 ? `${file}: generated ${added.join(', ')}` : `${file}: every required value is already set`);
console.log(`ingest login ${env.INGEST_USERNAME}:<INGEST_PASSWORD in ${file}>; API key: API_KEY in ${file}`);
console.log('next: docker compose up -d --build   (then open http://localhost:5173)');
