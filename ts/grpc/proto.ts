/**
 * The gRPC API's definitions, loaded at run time from the .proto files in proto/ (shipped in
 * the package) by @grpc/proto-loader, which server, client and the reflection service share.
 * LOADER_OPTIONS are the options scripts/gen-proto.mjs generates ts/grpc/generated/ with, so
 * the generated types describe exactly the objects grpc-js hands to handlers and callbacks:
 * camelCase fields, 64-bit integers as decimal strings, bytes as Buffers, defaults filled in,
 * and a virtual field naming the member set of each oneof (proto3 `optional` included).
 */
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { ProtoGrpcType as AdminProto } from './generated/admin.js';
import type { ProtoGrpcType as AuthProto } from './generated/auth.js';
import type { ProtoGrpcType as KvProto } from './generated/kv.js';

/** proto/ at the package root (this file runs from dist/ts/grpc/). */
export const PROTO_DIR = fileURLToPath(new URL('../../../proto/', import.meta.url));
/** Every file of the API, relative to PROTO_DIR (scripts/gen-proto.mjs lists the same). */
export const PROTO_FILES = ['kvstore/v1/kv.proto', 'kvstore/v1/auth.proto', 'kvstore/v1/admin.proto', 'google/rpc/status.proto'] as const;
export const LOADER_OPTIONS: protoLoader.Options = { longs: String, enums: String, defaults: true, oneofs: true, includeDirs: [PROTO_DIR] };
/** The full names of the services kvstored serves (reflection adds its own). */
export const SERVICES = ['kvstore.v1.KV', 'kvstore.v1.Auth', 'kvstore.v1.Admin'] as const;

export type KvstoreProto = KvProto & AuthProto & AdminProto;

let cached: { definition: protoLoader.PackageDefinition; proto: KvstoreProto } | null = null;

/** The package definition (for reflection) and the loaded package (service definitions, client constructors); loaded once. */
export function loadKvstoreProto(): { definition: protoLoader.PackageDefinition; proto: KvstoreProto } {
  if (!cached) {
    const definition = protoLoader.loadSync([...PROTO_FILES], LOADER_OPTIONS);
    cached = { definition, proto: grpc.loadPackageDefinition(definition) as unknown as KvstoreProto };
  }
  return cached;
}
