/** A real S3-protocol server for the tests: s3rver on loopback, a temp directory, one bucket. Credentials S3RVER/S3RVER. */
import S3rver from 's3rver';
import { tempDir } from './helpers.js';

export interface TestS3 {
  endpoint: string;
  bucket: string;
  /** Where s3rver keeps the objects (a test damages one here). */
  directory: string;
  env: Record<string, string>;
  close(): Promise<void>;
}

export async function startS3(bucket = 'backups'): Promise<TestS3> {
  const directory = tempDir('s3rver');
  const server = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory, configureBuckets: [{ name: bucket, configs: [] }] });
  const addr = (await server.run()) as { address: string; port: number };
  const endpoint = `http://127.0.0.1:${addr.port}`;
  const env = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_REGION: 'us-east-1', KVSTORE_S3_ENDPOINT: endpoint };
  Object.assign(process.env, env);
  return { endpoint, bucket, directory, env, close: () => server.close() };
}
