/** Turns a pagination position into an opaque token a client cannot forge or alter unnoticed. */
export interface CursorCodec {
  encode(payload: unknown): string;
  /** The payload of a token this codec issued; null for anything altered or malformed. */
  decode(token: string): unknown;
}

export const CURSOR_CODEC = Symbol('CursorCodec');
