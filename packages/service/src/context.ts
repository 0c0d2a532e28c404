import type { Kysely } from 'kysely';
import type { Database } from './store/schema.ts';

/** What every use case receives: the store and a clock (injected so tests control time). */
export interface ServiceContext {
  readonly db: Kysely<Database>;
  readonly now: () => Date;
}

/** Builds a context over an open store with the system clock. */
export function createContext(db: Kysely<Database>, now: () => Date = () => new Date()): ServiceContext {
  return { db, now };
}
