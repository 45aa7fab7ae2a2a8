import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import { createS3Client } from '../../src/adapters/storage/s3-blob-storage.js';

/** s3rver's built-in account. */
const CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

export interface MultipartUpload {
  key: string;
  uploadId: string;
  /** Part numbers received. */
  parts: number[];
}

/** A real S3-protocol server on a random localhost port, its data in a temporary folder. */
export interface S3TestServer {
  endpoint: string;
  bucket: string;
  /** A client of this server, signed with its credentials. */
  client: S3Client;
  /** Multipart uploads begun and neither completed nor aborted. */
  unfinishedUploads(): MultipartUpload[];
  /** Multipart uploads completed, in order. */
  completedUploads(): MultipartUpload[];
  close(): Promise<void>;
}

const escapeXml = (text: string) => text.replace(/[<>&'"]/g, (ch) => `&#${ch.charCodeAt(0)};`);

/** Bucket and key of a path-style request. */
function target(request: IncomingMessage): { bucket: string; key: string; query: URLSearchParams } {
  const url = new URL(request.url ?? '/', 'http://localhost');
  const [, bucket = '', ...key] = url.pathname.split('/');
  return { bucket: decodeURIComponent(bucket), key: key.map(decodeURIComponent).join('/'), query: url.searchParams };
}

/**
 * Starts s3rver behind a thin front that supplies the two multipart operations s3rver 3.7 lacks
 * (it answers ListMultipartUploads with 501 NotImplemented and AbortMultipartUpload with 405
 * MethodNotAllowed): the front keeps the uploads it sees begin, receive parts and complete, lists
 * the unfinished ones as S3 does (by key prefix), and forgets an aborted one. The parts of an
 * aborted upload stay in s3rver's folder, which nothing reads; the folder goes at `close()`.
 * Everything else is s3rver's.
 */
export async function startS3Server(bucket = 'taskforge-test'): Promise<S3TestServer> {
  const directory = mkdtempSync(path.join(os.tmpdir(), 'taskforge-s3rver-'));
  const s3rver = new S3rver({ directory, silent: true, vhostBuckets: false, configureBuckets: [{ name: bucket }] });
  await s3rver.configureBuckets();
  const s3 = s3rver.getMiddleware();
  const uploads = new Map<string, MultipartUpload>();
  const completed: MultipartUpload[] = [];

  const listUploads = (response: ServerResponse, prefix: string) => {
    const entries = [...uploads.values()]
      .filter((upload) => upload.key.startsWith(prefix))
      .map((upload) => `<Upload><Key>${escapeXml(upload.key)}</Key><UploadId>${upload.uploadId}</UploadId></Upload>`)
      .join('');
    response.writeHead(200, { 'content-type': 'application/xml' });
    response.end(
      `<?xml version="1.0" encoding="UTF-8"?><ListMultipartUploadsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">` +
        `<Bucket>${escapeXml(bucket)}</Bucket><Prefix>${escapeXml(prefix)}</Prefix><MaxUploads>1000</MaxUploads><IsTruncated>false</IsTruncated>${entries}</ListMultipartUploadsResult>`,
    );
  };

  /** Reads the upload id from s3rver's answer to CreateMultipartUpload as it goes out. */
  const recordBegun = (response: ServerResponse, key: string) => {
    const end = response.end.bind(response) as (...args: unknown[]) => ServerResponse;
    response.end = ((...args: unknown[]) => {
      const [body] = args;
      const uploadId = /<UploadId>([^<]+)<\/UploadId>/.exec(String(body ?? ''))?.[1];
      if (uploadId && response.statusCode === 200) uploads.set(uploadId, { key, uploadId, parts: [] });
      return end(...args);
    }) as ServerResponse['end'];
  };

  const server = createServer((request, response) => {
    const { bucket: requested, key, query } = target(request);
    const uploadId = query.get('uploadId');
    if (requested === bucket && key === '' && request.method === 'GET' && query.has('uploads')) return listUploads(response, query.get('prefix') ?? '');
    if (key !== '' && request.method === 'DELETE' && uploadId !== null) {
      if (!uploads.delete(uploadId)) {
        response.writeHead(404, { 'content-type': 'application/xml' });
        return response.end('<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchUpload</Code><Message>No such upload</Message></Error>');
      }
      response.writeHead(204);
      return response.end();
    }
    if (key !== '' && request.method === 'POST' && query.has('uploads')) recordBegun(response, key);
    if (key !== '' && request.method === 'PUT' && uploadId !== null) uploads.get(uploadId)?.parts.push(Number(query.get('partNumber')));
    if (key !== '' && request.method === 'POST' && uploadId !== null) {
      response.once('finish', () => {
        const upload = uploads.get(uploadId);
        if (upload && response.statusCode === 200) {
          uploads.delete(uploadId);
          completed.push(upload);
        }
      });
    }
    return s3(request, response);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const client = createS3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: CREDENTIALS });

  return {
    endpoint,
    bucket,
    client,
    unfinishedUploads: () => [...uploads.values()],
    completedUploads: () => [...completed],
    close: async () => {
      client.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
      rmSync(directory, { recursive: true, force: true });
    },
  };
}
