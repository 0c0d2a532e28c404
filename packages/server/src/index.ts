/** @mofn/server: the coordinator's REST API (Fastify) and its entry point. */
export { buildApp, principalOf, requireIfMatch, type AppOptions, type AppState } from './app.ts';
export { bodyOf, statusOf, HttpError } from './errors.ts';
export { loadServerKey, webhookSecret } from './secrets.ts';
export { startJobs, type Jobs, type JobOptions } from './jobs.ts';
export { startServer, type RunningServer, type StartServerOptions } from './server.ts';
export { serverMain } from './main.ts';
