import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  NoSuchUpload,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { BlobStorage, ByteRange, StoredBlob } from '../../application/index.js';
import { assertBlobKey } from './blob-keys.js';

/** Where an S3-compatible store is and how to address it; credentials come from the SDK's default chain (AWS_ACCESS_KEY_ID, …). */
export interface S3ClientSettings {
  /** Another store than AWS (MinIO, Garage, Ceph): its URL. */
  endpoint?: string;
  region: string;
  /** `https://host/bucket/key` instead of `https://bucket.host/key`: what most self-hosted stores expect. */
  forcePathStyle: boolean;
  /** Only for tests; deployments leave them to the default chain. */
  credentials?: { accessKeyId: string; secretAccessKey: string };
}

/**
 * A client whose requests give up rather than hang: a store that does not accept a connection
 * within 5 s, or answer a request within 60 s (a part is at most PART_SIZE, sent from memory),
 * fails the request; a transfer whose socket stays silent for 60 s (a download paused that long
 * by a client that stopped reading, or a store that stopped sending) is cut. Throttling and
 * network errors are retried by the SDK's standard strategy, 3 attempts in all.
 */
export function createS3Client(settings: S3ClientSettings): S3Client {
  return new S3Client({
    endpoint: settings.endpoint,
    region: settings.region,
    forcePathStyle: settings.forcePathStyle,
    credentials: settings.credentials,
    maxAttempts: 3,
    retryMode: 'standard',
    requestHandler: { connectionTimeout: 5_000, requestTimeout: 60_000, throwOnRequestTimeout: true, socketTimeout: 60_000 },
  });
}

/** The store's minimum for every part but the last. */
const PART_SIZE = 5 * 1024 * 1024;
/** Parts sent at the same time by one upload. */
const PARTS_IN_FLIGHT = 2;

export interface S3BlobStorageOptions {
  bucket: string;
  /** Keys live under `<prefix>/`; none: at the bucket's root. */
  prefix?: string;
  /** Bytes per part of a multipart upload; at least 5 MiB, the store's minimum. */
  partSize?: number;
}

/**
 * No such object. A missing bucket is a misconfiguration, not a missing blob: GetObject names it
 * (NoSuchBucket); HeadObject has no body to tell them apart, and without s3:ListBucket S3
 * answers 403 for a missing key, which is therefore no "not found" either.
 */
const isNotFound = (error: unknown): boolean =>
  error instanceof S3ServiceException && error.name !== 'NoSuchBucket' && (error.name === 'NoSuchKey' || error.$metadata.httpStatusCode === 404);

/**
 * Blobs as objects of one bucket, each key an object key (under an optional prefix).
 *
 * Writes go through lib-storage's `Upload`: a blob that fits in one part is one PutObject, a
 * larger one a multipart upload; either way the object appears whole, when the PutObject or the
 * CompleteMultipartUpload succeeds, and S3 shows a reader the old object or the new one, never a
 * part. Memory stays bounded per write: the part being filled plus the parts in flight, at most
 * (PARTS_IN_FLIGHT + 1) × partSize (15 MiB with the defaults), whatever the blob's size; blobs
 * are limited to 10,000 parts (48.8 GiB with 5 MiB parts). A write whose bytes fail aborts its
 * multipart upload; one killed midway leaves an unfinished upload (invisible to readers, but its
 * parts are billed) that `delete` removes.
 *
 * A read is one GetObject whose response body is streamed, which pins the version: S3 documents
 * that a GET concurrent with a PUT of its key returns the old bytes or the new, never a mix, and
 * a response under way goes on serving the version it began with when the object is replaced or
 * deleted (the latter S3 does not spell out; stores that replace files in place, such as s3rver,
 * cut such a response short, which the reader sees as an error, never as other bytes). The pin
 * lasts as long as that one response: a read whose connection breaks fails, it is not resumed.
 */
export class S3BlobStorage implements BlobStorage {
  private readonly bucket: string;
  private readonly prefix: string;
  private readonly partSize: number;

  constructor(
    private readonly client: S3Client,
    options: S3BlobStorageOptions,
  ) {
    this.bucket = options.bucket;
    this.prefix = options.prefix ? `${options.prefix.replace(/\/+$/, '')}/` : '';
    this.partSize = options.partSize ?? PART_SIZE;
  }

  async put(key: string, bytes: AsyncIterable<Uint8Array>): Promise<StoredBlob> {
    const objectKey = this.objectKeyOf(key);
    const hash = createHash('sha256');
    let size = 0;
    // The source's own failure, whatever the upload reports once it has given up on it (a
    // failed abort of the multipart upload, say).
    let sourceFailure: { error: unknown } | null = null;
    async function* measured(): AsyncIterable<Uint8Array> {
      try {
        for await (const chunk of bytes) {
          hash.update(chunk);
          size += chunk.byteLength;
          yield chunk;
        }
      } catch (error) {
        sourceFailure = { error };
        throw error;
      }
    }
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.bucket, Key: objectKey, Body: Readable.from(measured(), { objectMode: false }) },
      partSize: this.partSize,
      queueSize: PARTS_IN_FLIGHT,
      leavePartsOnError: false,
    });
    try {
      await upload.done();
    } catch (error) {
      throw sourceFailure ? (sourceFailure as { error: unknown }).error : error;
    }
    return { size, sha256: hash.digest('hex') };
  }

  async get(key: string, range?: ByteRange): Promise<AsyncIterable<Uint8Array> | null> {
    const objectKey = this.objectKeyOf(key);
    try {
      const { Body } = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: objectKey, Range: range && `bytes=${range.start}-${range.end ?? ''}` }),
      );
      if (Body instanceof Readable) return Body;
      throw new Error('the S3 client handed back a body that is no Node.js stream');
    } catch (error) {
      if (isNotFound(error)) return null;
      throw error;
    }
  }

  async stat(key: string): Promise<{ size: number } | null> {
    const objectKey = this.objectKeyOf(key);
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: objectKey }));
      return { size: head.ContentLength ?? 0 };
    } catch (error) {
      if (isNotFound(error)) return null;
      throw error;
    }
  }

  async delete(key: string): Promise<void> {
    const objectKey = this.objectKeyOf(key);
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: objectKey }));
    await this.abortUnfinishedUploads(objectKey);
  }

  /** Whether the bucket answers, within `timeoutMs`: the readiness check. */
  async reachable(timeoutMs: number): Promise<boolean> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }), { abortSignal: AbortSignal.timeout(timeoutMs) });
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Aborts the multipart uploads of exactly this object key that never completed: the listing
   * takes a prefix, which also matches longer keys (`a/b` lists `a/bc`), so each is checked.
   */
  private async abortUnfinishedUploads(objectKey: string): Promise<void> {
    let markers: { KeyMarker?: string; UploadIdMarker?: string } = {};
    for (;;) {
      const page = await this.client.send(new ListMultipartUploadsCommand({ Bucket: this.bucket, Prefix: objectKey, ...markers }));
      for (const upload of page.Uploads ?? []) {
        if (upload.Key !== objectKey || !upload.UploadId) continue;
        try {
          await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: objectKey, UploadId: upload.UploadId }));
        } catch (error) {
          if (!(error instanceof NoSuchUpload)) throw error; // aborted meanwhile by another delete
        }
      }
      if (!page.IsTruncated) return;
      markers = { KeyMarker: page.NextKeyMarker, UploadIdMarker: page.NextUploadIdMarker };
    }
  }

  private objectKeyOf(key: string): string {
    assertBlobKey(key);
    return `${this.prefix}${key}`;
  }
}
