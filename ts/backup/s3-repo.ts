/**
 * A backup repository in an S3 bucket (or any S3-compatible store: endpoint override,
 * path-style addressing), through @aws-sdk/client-s3 and @aws-sdk/lib-storage. Both are
 * optional peer dependencies, imported here and only when an s3:// location is used; without
 * them: OBJECT_STORE_UNAVAILABLE. Credentials come from the SDK's standard chain (environment,
 * shared profile, instance role) and are never logged: errors carry the SDK's error name
 * and message, the bucket and the key, nothing else. Large objects go up as multipart
 * uploads (lib-storage's Upload), so nothing is held whole in memory; an object is
 * visible only once its upload completed.
 */
import { Readable } from 'node:stream';
import { KvError } from '../errors.js';
import { type Repo, type RepoObject, type S3Settings, missing } from './repo.js';

type S3Module = typeof import('@aws-sdk/client-s3');
type StorageModule = typeof import('@aws-sdk/lib-storage');

const PART_BYTES = 8 * 1024 * 1024;

async function loadSdk(): Promise<{ s3: S3Module; storage: StorageModule }> {
  try {
    const [s3, storage] = await Promise.all([import('@aws-sdk/client-s3'), import('@aws-sdk/lib-storage')]);
    return { s3, storage };
  } catch (err) {
    throw new KvError('OBJECT_STORE_UNAVAILABLE', `s3:// locations need the optional packages @aws-sdk/client-s3 and @aws-sdk/lib-storage (npm install @aws-sdk/client-s3 @aws-sdk/lib-storage): ${(err as Error).message}`, { cause: err });
  }
}

/** s3://bucket/prefix → bucket, prefix ('' or ending in '/'). */
export function parseS3Url(url: string): { bucket: string; prefix: string } {
  const m = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(url);
  if (!m) throw new KvError('INVALID_ARGUMENT', `not an s3://bucket[/prefix] location: ${JSON.stringify(url)}`);
  let prefix = (m[2] ?? '').replace(/^\/+/, '');
  if (prefix !== '' && !prefix.endsWith('/')) prefix += '/';
  return { bucket: m[1]!, prefix };
}

function s3Error(what: string, err: unknown): KvError {
  if (err instanceof KvError) return err;
  const e = err as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  const status = e.$metadata?.httpStatusCode;
  return new KvError('IO_ERROR', `${what}: ${e.name ?? 'Error'}${status ? ` (HTTP ${status})` : ''}: ${e.message ?? String(err)}`, { cause: err });
}

export class S3Repo implements Repo {
  readonly location: string;

  private constructor(
    private readonly sdk: { s3: S3Module; storage: StorageModule },
    private readonly client: InstanceType<S3Module['S3Client']>,
    private readonly bucket: string,
    private readonly prefix: string,
  ) {
    this.location = `s3://${bucket}/${prefix}`;
  }

  static async open(url: string, settings: S3Settings): Promise<S3Repo> {
    const { bucket, prefix } = parseS3Url(url);
    const sdk = await loadSdk();
    const endpoint = settings.endpoint ?? process.env.KVSTORE_S3_ENDPOINT;
    const client = new sdk.s3.S3Client({
      region: settings.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1',
      ...(endpoint ? { endpoint } : {}),
      forcePathStyle: settings.forcePathStyle ?? endpoint !== undefined,
    });
    return new S3Repo(sdk, client, bucket, prefix);
  }

  async put(key: string, body: Buffer | AsyncIterable<Buffer>): Promise<void> {
    const Key = this.prefix + key;
    try {
      if (Buffer.isBuffer(body)) {
        await this.client.send(new this.sdk.s3.PutObjectCommand({ Bucket: this.bucket, Key, Body: body, ContentLength: body.length }));
        return;
      }
      const upload = new this.sdk.storage.Upload({
        client: this.client,
        params: { Bucket: this.bucket, Key, Body: Readable.from(body) },
        partSize: PART_BYTES,
        queueSize: 2,
        leavePartsOnError: false,
      });
      await upload.done();
    } catch (err) {
      throw s3Error(`${this.location}: writing ${key}`, err);
    }
  }

  async *get(key: string): AsyncIterable<Buffer> {
    let body: unknown;
    try {
      const r = await this.client.send(new this.sdk.s3.GetObjectCommand({ Bucket: this.bucket, Key: this.prefix + key }));
      body = r.Body;
    } catch (err) {
      const name = (err as { name?: string }).name;
      if (name === 'NoSuchKey' || name === 'NotFound') throw missing(this, key, err);
      throw s3Error(`${this.location}: reading ${key}`, err);
    }
    if (!(body instanceof Readable)) throw new KvError('IO_ERROR', `${this.location}: reading ${key}: the SDK returned no stream`);
    try {
      for await (const chunk of body) yield chunk as Buffer;
    } catch (err) {
      throw s3Error(`${this.location}: reading ${key}`, err);
    }
  }

  async list(prefix: string): Promise<RepoObject[]> {
    const out: RepoObject[] = [];
    let token: string | undefined;
    for (let page = 0; page < 100_000; page++) {
      let r;
      try {
        r = await this.client.send(new this.sdk.s3.ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.prefix + prefix, ...(token ? { ContinuationToken: token } : {}) }));
      } catch (err) {
        throw s3Error(`${this.location}: listing ${prefix}`, err);
      }
      for (const o of r.Contents ?? []) {
        if (o.Key) out.push({ key: o.Key.slice(this.prefix.length), size: o.Size ?? 0 });
      }
      if (!r.IsTruncated || !r.NextContinuationToken) break;
      token = r.NextContinuationToken;
    }
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async delete(keys: readonly string[]): Promise<void> {
    for (const key of keys) {
      try {
        await this.client.send(new this.sdk.s3.DeleteObjectCommand({ Bucket: this.bucket, Key: this.prefix + key }));
      } catch (err) {
        throw s3Error(`${this.location}: deleting ${key}`, err);
      }
    }
  }
}
