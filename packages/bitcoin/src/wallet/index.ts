/**
 * mofn multisig wallets: policies (sh, wsh, sh-wsh, tr with the NUMS key), their canonical
 * descriptors and ids, and fast address derivation.
 */
export {
  MAX_KEYS,
  assertPolicy,
  createPolicy,
  describePolicy,
  isSamePolicy,
  policyFromDescriptor,
  policyToDescriptor,
  walletIdOf,
  type CreatePolicyParams,
  type PolicySummary,
  type PolicyToDescriptorOptions,
} from './policy.ts';
export { createAddressDeriver, type AddressDeriver, type FindScriptOptions } from './deriver.ts';
export { NUMS_INTERNAL_KEY } from '../descriptor/taproot.ts';
export { multiAScript, multisigScript } from '../descriptor/script.ts';
