import { createContext, openStore, type ServiceContext, type Store } from '@mofn/service';

/** Runs `fn` with a service context over the local store, closing the store afterwards. */
export async function withStore<T>(fn: (ctx: ServiceContext) => Promise<T>): Promise<T> {
  const store: Store = await openStore();
  try {
    return await fn(createContext(store));
  } finally {
    await store.close();
  }
}
