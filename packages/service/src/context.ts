import type { Kysely } from 'kysely';
import type { StoreKind } from './store/open.ts';
import type { Database } from './store/schema.ts';

/** What every use case receives: the store and a clock (injected so tests control time). */
export interface ServiceContext {
  readonly db: Kysely<Database>;
  /** The engine behind `db`: row locks are written differently on each. */
  readonly kind: StoreKind;
  readonly now: () => Date;
}

/** Builds a context over an open store with the system clock. */
export function createContext(store: { readonly db: Kysely<Database>; readonly kind: StoreKind }, now: () => Date = () => new Date()): ServiceContext {
  return { db: store.db, kind: store.kind, now };
}
