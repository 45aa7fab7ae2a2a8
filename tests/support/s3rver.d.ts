/** The part of s3rver's public API the tests use (the package ships no types). */
declare module 's3rver' {
  import type { IncomingMessage, ServerResponse } from 'node:http';

  interface S3rverOptions {
    directory: string;
    silent?: boolean;
    configureBuckets?: Array<{ name: string }>;
    vhostBuckets?: boolean;
  }

  export default class S3rver {
    constructor(options: S3rverOptions);
    /** Creates the buckets of `configureBuckets`; `run()` does it before listening. */
    configureBuckets(): Promise<void>;
    /** The request handler, to mount in a server of one's own. */
    getMiddleware(): (request: IncomingMessage, response: ServerResponse) => void;
  }
}
