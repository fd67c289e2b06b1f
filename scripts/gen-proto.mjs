// Regenerates ts/grpc/generated/ (TypeScript types for the messages and services of proto/)
// with @grpc/proto-loader's proto-loader-gen-types: pure JavaScript on protobufjs, so it runs
// offline from npm alone, with no protoc. The options are the ones ts/grpc/proto.ts loads the
// files with (LOADER_OPTIONS), so the types describe exactly the objects grpc-js hands over.
// test/grpc-proto.test.ts regenerates into a temporary folder and fails on any difference.
//
//   node scripts/gen-proto.mjs [outDir]     (default: ts/grpc/generated)
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const PROTO_FILES = ['kvstore/v1/kv.proto', 'kvstore/v1/auth.proto', 'kvstore/v1/admin.proto', 'google/rpc/status.proto'];
const out = path.resolve(process.argv[2] ?? path.join(root, 'ts', 'grpc', 'generated'));
const bin = path.join(root, 'node_modules', '@grpc', 'proto-loader', 'build', 'bin', 'proto-loader-gen-types.js');

fs.rmSync(out, { recursive: true, force: true });
const r = spawnSync(process.execPath, [
  bin, '--longs=String', '--enums=String', '--defaults', '--oneofs', '--includeComments',
  '--grpcLib=@grpc/grpc-js', '--importFileExtension=.js', '-I', 'proto', '-O', out, ...PROTO_FILES,
], { cwd: root, stdio: 'inherit' });
process.exit(r.status ?? 1);
