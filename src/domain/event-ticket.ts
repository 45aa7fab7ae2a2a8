/** Tickets for `GET /events` start with this, so that one is never mistaken for another credential. */
export const EVENT_TICKET_PREFIX = 'tfe_';
export const EVENT_TICKET_TTL_SECONDS = 30;

/** An event id as the service issues them: the form is checked before any lookup. */
export const isEventIdForm = (text: string): boolean => /^[1-9][0-9]{0,17}$/.test(text);
