/** viem clients over any JSON-RPC URL. */
import { createPublicClient, createWalletClient, defineChain, http, type Chain, type PublicClient, type WalletClient } from 'viem';
import { InvalidInputError, MofnError } from '@mofn/core';

/** A read client and a write client bound to the same chain. */
export interface EvmClients {
  readonly public: PublicClient;
  readonly wallet: WalletClient;
  readonly chain: Chain;
}

/**
 * Connects to a JSON-RPC URL and reads its chain id (or checks it against `expectedChainId`).
 * @throws InvalidInputError `chain.bad_url`; MofnError `chain.wrong_chain_id`, `chain.rpc_failed`
 */
export async function createEvmClients(rpcUrl: string, expectedChainId?: number): Promise<EvmClients> {
  let url: URL;
  try {
    url = new URL(rpcUrl);
  } catch (cause) {
    throw new InvalidInputError('chain.bad_url', `not a URL: ${rpcUrl}`, { cause });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new InvalidInputError('chain.bad_url', `JSON-RPC URL must be http(s): ${rpcUrl}`);
  }
  const transport = http(rpcUrl);
  let chainId: number;
  try {
    chainId = await createPublicClient({ transport }).getChainId();
  } catch (cause) {
    throw new MofnError('chain.rpc_failed', `cannot read the chain id from ${url.origin}`, { cause });
  }
  if (expectedChainId !== undefined && chainId !== expectedChainId) {
    throw new MofnError('chain.wrong_chain_id', `${url.origin} is chain ${chainId}, expected ${expectedChainId}`, {
      details: { chainId, expectedChainId },
    });
  }
  const chain = defineChain({
    id: chainId,
    name: `chain-${chainId}`,
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [rpcUrl] } },
  });
  return {
    chain,
    public: createPublicClient({ chain, transport }),
    wallet: createWalletClient({ chain, transport }),
  };
}
