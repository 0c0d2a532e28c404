/**
 * Output script descriptors (BIP-380 .. BIP-390): checksum, parser, printer, expansion.
 */
export type * from './ast.ts';
export {
  addDescriptorChecksum,
  descriptorChecksum,
  findInvalidDescriptorChar,
  isValidDescriptorChecksum,
  splitDescriptorChecksum,
  type ChecksumOptions,
} from './checksum.ts';
export {
  descriptorKeys,
  hasHardenedDerivation,
  isRangedDescriptor,
  multipathCount,
  parseDescriptor,
  parseKeyExpression,
  type ParseDescriptorOptions,
} from './parser.ts';
export { printDescriptor, printKeyExpression, printScript, type PrintDescriptorOptions } from './printer.ts';
export { expandDescriptor, splitMultipath, type ExpandedOutput, type ExpandedTapLeaf } from './expand.ts';
export {
  multiAScript,
  multisigScript,
  p2pkScript,
  p2pkhScript,
  p2shScript,
  p2trScript,
  p2wpkhScript,
  p2wshScript,
  pushData,
  pushNumber,
} from './script.ts';
export { NUMS_INTERNAL_KEY, TAPSCRIPT_LEAF_VERSION, isNumsInternalKey, numsInternalKey, tapBranchHash, tapLeafHash, taprootTweak } from './taproot.ts';
export { MUSIG_CHAIN_CODE, musigKeyAgg, musigKeySort, musigSyntheticXpub } from './musig.ts';
export { createWalletPolicy, parseWalletPolicyTemplate, type KeySlot, type WalletPolicy } from './walletPolicy.ts';
