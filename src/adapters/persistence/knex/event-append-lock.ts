/**
 * The first key of the PostgreSQL advisory lock one user's appends to the change log take turns
 * on (the second is the user's id), held until the appending transaction ends: see migration 017.
 * The purge takes it too, so that a user's newest position never goes missing while it is read.
 */
export const EVENT_APPEND_LOCK = 0x54466576; // "TFev"
