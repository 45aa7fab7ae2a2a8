/** Ids are `serial` columns: PostgreSQL rejects a larger value outright rather than finding nothing. */
const MAX_SERIAL_ID = 2_147_483_647;

/** Whether an id can exist in a table at all; callers answer "not found" without asking the database. */
export const isStorableId = (id: number): boolean => Number.isSafeInteger(id) && id >= 1 && id <= MAX_SERIAL_ID;
