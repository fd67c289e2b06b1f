/** `kvstore-plus-plus/server`: the HTTP API as a fastify plugin, the gRPC server, and the pieces kvstored is made of. */
export { kvstoreRoutes } from './routes.js';
export type { KvstoreRoutesOptions } from './routes.js';
export { buildServer } from './server.js';
export type { BuiltServer, RouteInfo } from './server.js';
export { loadConfig, helpText } from './config.js';
export type { ServerConfig, Parsed } from './config.js';
export { toProblem } from './problem.js';
export type { Problem } from './problem.js';
export { startGrpcServer } from './grpc-server.js';
export type { GrpcDeps, RunningGrpc } from './grpc-server.js';
export { RateLimits } from './limiter.js';
export type { Limiter } from './limiter.js';
export type { Metrics } from './metrics.js';
