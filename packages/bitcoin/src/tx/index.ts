/** Transactions: wire format, scripts, signature hashes and the size model. */
export { bytesToTxid, fromHex, toHex, txidToBytes } from './bytes.ts';
export {
  hasWitness,
  parseTransaction,
  serializeTransaction,
  transactionHex,
  transactionId,
  transactionVsize,
  transactionWeight,
  transactionWitnessId,
  type ParseTransactionOptions,
  type Transaction,
  type TxInput,
  type TxOutput,
} from './transaction.ts';
export {
  classifyOutputScript,
  decompileScript,
  OP,
  p2shOutputScript,
  p2wshOutputScript,
  parseMultiAScript,
  parseMultisigScript,
  pushData,
  pushNumber,
  tapLeafHash,
  TAPSCRIPT_LEAF_VERSION,
  verifyTaprootCommitment,
  witnessProgramOf,
  type MultiAScript,
  type MultisigScript,
  type OutputScriptKind,
  type ScriptChunk,
} from './script.ts';
export { isTaprootSighashType, SIGHASH_ALL, SIGHASH_ANYONECANPAY, SIGHASH_DEFAULT, SIGHASH_NONE, SIGHASH_SINGLE, SighashContext, type SighashTransaction } from './sighash.ts';
export {
  defaultSpendShape,
  ECDSA_SIGNATURE_SIZE,
  estimateMultisigVsize,
  feeForVsize,
  multiAScriptLength,
  multisigInputWeight,
  multisigScriptLength,
  SCHNORR_SIGNATURE_SIZE,
  weightToVsize,
  type MultisigSpendShape,
} from './vsize.ts';
