/** The limits on attachments, from configuration. */
export interface AttachmentSettings {
  /** ATTACHMENT_MAX_BYTES: the most one file may have. */
  maxBytes: number;
  /** ATTACHMENT_QUOTA_BYTES: the most a user's attachments may have in all. */
  quotaBytes: number;
  /** ATTACHMENT_UPLOAD_TIMEOUT: how long an upload may take; past it, it is refused and its bytes are garbage. */
  uploadTimeoutMs: number;
}

export const DEFAULT_ATTACHMENT_SETTINGS: AttachmentSettings = {
  maxBytes: 25 * 1024 * 1024,
  quotaBytes: 1024 * 1024 * 1024,
  uploadTimeoutMs: 60 * 60 * 1000,
};
