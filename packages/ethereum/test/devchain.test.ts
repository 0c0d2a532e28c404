import { createConnection } from 'node:net';
import { describe, expect, it } from 'vitest';
import { startDevChain, getAnvilBinary } from '../src/devchain.ts';
import { createEvmClients } from '../src/client.ts';

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

describe('devchain (anvil from @foundry-rs/anvil)', () => {
  it('finds the shipped anvil binary', () => {
    expect(getAnvilBinary()).toMatch(/anvil(\.exe)?$/);
  });

  it('starts on 127.0.0.1 with funded accounts and stops (idempotently)', async () => {
    const chain = await startDevChain({ chainId: 1337 });
    try {
      expect(chain.rpcUrl).toBe(`http://127.0.0.1:${chain.port}`);
      expect(chain.accounts.length).toBeGreaterThan(0);
      const clients = await createEvmClients(chain.rpcUrl, 1337);
      expect(await clients.public.getBalance({ address: chain.accounts[0]! })).toBeGreaterThan(0n);
      await expect(createEvmClients(chain.rpcUrl, 1)).rejects.toMatchObject({ code: 'chain.wrong_chain_id' });
      expect(await portOpen(chain.port)).toBe(true);
    } finally {
      await chain.stop();
      await chain.stop();
    }
    expect(await portOpen(chain.port)).toBe(false);
  });

  it('runs two chains side by side on different ports', async () => {
    const [a, b] = await Promise.all([startDevChain(), startDevChain()]);
    try {
      expect(a.port).not.toBe(b.port);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });

  it('refuses a non-http URL and reports an unreachable node', async () => {
    await expect(createEvmClients('ws://127.0.0.1:1')).rejects.toMatchObject({ code: 'chain.bad_url' });
    await expect(createEvmClients('not a url')).rejects.toMatchObject({ code: 'chain.bad_url' });
    await expect(createEvmClients('http://127.0.0.1:1')).rejects.toMatchObject({ code: 'chain.rpc_failed' });
  });
});
