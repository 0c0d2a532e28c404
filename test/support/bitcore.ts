/**
 * bitcore-lib's script interpreter as an independent check of transactions mofn finalizes
 * (DESIGN.md, "How truth is established in tests"). Tests only.
 *
 * Flags: Bitcoin Core's STANDARD_SCRIPT_VERIFY_FLAGS without CLEANSTACK. bitcore-lib 11.5 checks
 * CLEANSTACK against the P2SH stack copy even for native witness spends, so it wrongly fails every
 * witness input with that flag; the rule itself still applies to witness scripts (a witness
 * script must leave exactly one true element: bitcore's executeWitnessScript enforces it).
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const bitcore = require('bitcore-lib');
const { Transaction, Script } = bitcore;
const Interpreter = Script.Interpreter;

/*
 * bitcore-lib 11.5 bug, corrected here: Schnorr.verify computes the BIP-340 challenge with
 * `P.x.toBuffer({ size: 32 })`, where P = lift_x(key) is an elliptic point whose coordinates are
 * elliptic's own bn.js instances (bitcore patches `toBuffer({ size })` only into its copy of bn.js).
 * elliptic's `toBuffer(endian, length)` ignores the object, so x comes out minimal-length and every
 * x-only key whose first byte is 0x00 (1 key in 256) fails verification (SCRIPT_ERR_SCHNORR_SIG)
 * although libsecp256k1 and noble accept the signature. The shim gives that call the meaning
 * bitcore intended (big-endian, padded to `size`); nothing else changes. test/tx.vectors.test.ts
 * checks the bug still exists without the shim, so the shim can be dropped when bitcore fixes it.
 */
const Point = require('bitcore-lib/lib/crypto/point');
const EllipticBN = Point.getG().x.constructor;
const ellipticToBuffer = EllipticBN.prototype.toBuffer;

/** Whether the shim is active (tests turn it off to show the bug). */
export function setBitcoreSchnorrShim(on: boolean): void {
  EllipticBN.prototype.toBuffer = on
    ? function (this: any, endian?: unknown, length?: number): Buffer {
        if (endian !== null && typeof endian === 'object') {
          const opts = endian as { size?: number; endian?: string };
          return this.toArrayLike(Buffer, opts.endian === 'little' ? 'le' : 'be', opts.size);
        }
        return ellipticToBuffer.call(this, endian, length);
      }
    : ellipticToBuffer;
}
setBitcoreSchnorrShim(true);

/** Bitcoin Core's standard verification flags, minus CLEANSTACK (see the module comment). */
export const BITCORE_STANDARD_FLAGS: number =
  Interpreter.SCRIPT_VERIFY_P2SH |
  Interpreter.SCRIPT_VERIFY_STRICTENC |
  Interpreter.SCRIPT_VERIFY_DERSIG |
  Interpreter.SCRIPT_VERIFY_LOW_S |
  Interpreter.SCRIPT_VERIFY_NULLDUMMY |
  Interpreter.SCRIPT_VERIFY_MINIMALDATA |
  Interpreter.SCRIPT_VERIFY_DISCOURAGE_UPGRADABLE_NOPS |
  Interpreter.SCRIPT_VERIFY_CHECKLOCKTIMEVERIFY |
  Interpreter.SCRIPT_VERIFY_CHECKSEQUENCEVERIFY |
  Interpreter.SCRIPT_VERIFY_WITNESS |
  Interpreter.SCRIPT_VERIFY_DISCOURAGE_UPGRADABLE_WITNESS_PROGRAM |
  Interpreter.SCRIPT_VERIFY_MINIMALIF |
  Interpreter.SCRIPT_VERIFY_NULLFAIL |
  Interpreter.SCRIPT_VERIFY_WITNESS_PUBKEYTYPE |
  Interpreter.SCRIPT_VERIFY_CONST_SCRIPTCODE |
  Interpreter.SCRIPT_VERIFY_TAPROOT |
  Interpreter.SCRIPT_VERIFY_DISCOURAGE_UPGRADABLE_TAPROOT_VERSION |
  Interpreter.SCRIPT_VERIFY_DISCOURAGE_OP_SUCCESS |
  Interpreter.SCRIPT_VERIFY_DISCOURAGE_UPGRADABLE_PUBKEYTYPE;

/** The output an input spends (needed for segwit amounts and for taproot's all-prevouts sighash). */
export interface BitcorePrevout {
  readonly scriptPubKey: Uint8Array;
  readonly amount: bigint;
}

/** The interpreter's verdict on one input. */
export interface BitcoreInputResult {
  readonly index: number;
  readonly ok: boolean;
  /** bitcore's error string (SCRIPT_ERR_...) or the exception text, when not ok. */
  readonly error?: string;
}

/**
 * Runs every input of a signed transaction through bitcore-lib's interpreter.
 * @param rawTxHex - the network-serialized transaction
 * @param prevouts - the spent outputs, by input index
 */
export function verifyWithBitcore(rawTxHex: string, prevouts: readonly BitcorePrevout[], flags: number = BITCORE_STANDARD_FLAGS): BitcoreInputResult[] {
  const tx = new Transaction(rawTxHex);
  if (tx.inputs.length !== prevouts.length) throw new Error(`transaction has ${String(tx.inputs.length)} inputs, ${String(prevouts.length)} prevouts given`);
  // BIP-341 signs every spent amount and script: bitcore reads them from each input's `output`.
  tx.inputs.forEach((input: any, i: number) => {
    const p = prevouts[i]!;
    input.output = new Transaction.Output({ script: Script.fromBuffer(Buffer.from(p.scriptPubKey)), satoshis: Number(p.amount) });
  });
  return tx.inputs.map((input: any, i: number): BitcoreInputResult => {
    const p = prevouts[i]!;
    const interpreter = new Interpreter();
    try {
      const ok: boolean = interpreter.verify(
        input.script,
        Script.fromBuffer(Buffer.from(p.scriptPubKey)),
        tx,
        i,
        flags,
        // A transaction without witnesses parses with null witness stacks.
        input.getWitnesses() ?? [],
        Number(p.amount),
      );
      return ok ? { index: i, ok } : { index: i, ok, error: String(interpreter.errstr) };
    } catch (e) {
      return { index: i, ok: false, error: e instanceof Error ? e.message : String(e) };
    }
  });
}
