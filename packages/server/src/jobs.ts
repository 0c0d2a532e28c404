/**
 * Background work every instance runs: expire proposals past their TTL, follow broadcast
 * transactions to their first confirmation, follow Safe executions and nonces, and deliver webhooks. Each job is safe to run on every
 * instance at once (wallet locks for state changes, leases for deliveries).
 */
import type { FastifyBaseLogger } from 'fastify';
import { deliverDueWebhooks, expireDueProposals, followCoordinatedSafes, refreshConfirmations, supersedeConflicted, type ChainGateway, type ServiceContext } from '@mofn/service';

/** Options of {@link startJobs}. */
export interface JobOptions {
  readonly ctx: ServiceContext;
  readonly gateway?: ChainGateway | undefined;
  readonly secretFor: (webhookId: string) => string;
  readonly log: FastifyBaseLogger;
  /** Period of the webhook loop, ms (default 500). */
  readonly webhookIntervalMs?: number;
  /** Period of expiry and confirmation checks, ms (default 15 s). */
  readonly chainIntervalMs?: number;
}

/** Running jobs. */
export interface Jobs {
  /** Runs every job once now (tests, and a final flush). */
  runOnce(): Promise<void>;
  stop(): Promise<void>;
}

/** Starts the periodic jobs. */
export function startJobs(options: JobOptions): Jobs {
  const { ctx, log } = options;
  let stopped = false;
  const running = new Set<Promise<unknown>>();
  const guard = (name: string, fn: () => Promise<unknown>) => async () => {
    if (stopped) return;
    const p = fn().catch((e: unknown) => log.warn({ job: name, err: { message: (e as Error).message } }, 'background job failed; will retry'));
    running.add(p);
    await p;
    running.delete(p);
  };
  const webhooks = guard('webhooks', async () => {
    while (!stopped && (await deliverDueWebhooks(ctx, { secretFor: options.secretFor })) > 0) {
      // drain what is due, then wait for the next tick
    }
  });
  const chain = guard('chain', async () => {
    await expireDueProposals(ctx);
    await followCoordinatedSafes(ctx);
    if (options.gateway !== undefined) {
      await refreshConfirmations(ctx, options.gateway);
      await supersedeConflicted(ctx, options.gateway);
    }
  });
  let webhookBusy = false;
  let chainBusy = false;
  const tick = (busy: () => boolean, set: (b: boolean) => void, fn: () => Promise<void>) => () => {
    if (busy()) return;
    set(true);
    void fn().finally(() => set(false));
  };
  const t1 = setInterval(tick(() => webhookBusy, (b) => (webhookBusy = b), webhooks), options.webhookIntervalMs ?? 500);
  const t2 = setInterval(tick(() => chainBusy, (b) => (chainBusy = b), chain), options.chainIntervalMs ?? 15_000);
  t1.unref();
  t2.unref();
  return {
    async runOnce() {
      await chain();
      await webhooks();
    },
    async stop() {
      stopped = true;
      clearInterval(t1);
      clearInterval(t2);
      await Promise.allSettled([...running]);
    },
  };
}
