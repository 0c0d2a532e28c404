/** Coin selection and dust policy. */
export { DUST_RELAY_FEE_RATE, dustThreshold, isDust } from './dust.ts';
export { branchAndBound, feeForWeight, selectCoins } from './select.ts';
export type { BnbCoin, CoinCandidate, CoinSelection, SelectCoinsParams } from './select.ts';
