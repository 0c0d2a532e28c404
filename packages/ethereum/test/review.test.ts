// Offline review: MultiSend packing (against protocol-kit's), calldata decoding, danger flags, acknowledgement.
import { calculateSafeMessageHash, decodeMultiSendData, encodeMultiSendData } from '@safe-global/protocol-kit';
import fc from 'fast-check';
import { bytesToHex, encodeFunctionData, type Abi, getAddress, keccak256, maxUint256, toHex, zeroAddress, type Address, type Hex } from 'viem';
import { describe, expect, it } from 'vitest';
import { ERC20_ABI, SAFE_ADMIN_ABI } from '../src/safe/abi.ts';
import { getSafeMessageHash } from '../src/safe/contractSignature.ts';
import { decodeSafeCall } from '../src/safe/decode.ts';
import { createErc20Approve, createErc20Transfer } from '../src/safe/erc20.ts';
import {
  createMultiSendTx,
  decodeMultiSendTransactions,
  encodeMultiSend,
  encodeMultiSendTransactions,
  parseMultiSend,
  type MultiSendCall,
} from '../src/safe/multisend.ts';
import { assertDangersAcknowledged, isSafeDangerCode, reviewSafeTx, SAFE_DANGER_CODES, UNLIMITED_APPROVAL, type SafeReviewContext } from '../src/safe/review.ts';
import { createSafeTx, encodeSafeTxData, getSafeTxHash } from '../src/safe/safeTx.ts';
import { SAFE_V141_CANONICAL } from '../src/safe/singletons.ts';
import { codeOf } from '../../../test/support/errors.ts';

const addr = (tag: string): Address => getAddress(keccak256(toHex(tag)).slice(0, 42));
const safeAddress = addr('review-safe');
const token = addr('review-token');
const alice = addr('review-alice');
const bob = addr('review-bob');
const ctx: SafeReviewContext = { safeAddress, threshold: 2 };
const { multiSendCallOnly, multiSend } = SAFE_V141_CANONICAL;
const codes = (tx: Parameters<typeof reviewSafeTx>[0], c = ctx) => reviewSafeTx(tx, c).warnings.map((w) => w.code);
const admin = (data: Hex, nonce = 0n) => createSafeTx({ to: safeAddress, data, nonce });

const callArb = fc.record({
  to: fc.uint8Array({ minLength: 20, maxLength: 20 }).map((b) => getAddress(bytesToHex(b))),
  value: fc.bigInt({ min: 0n, max: maxUint256 }),
  data: fc.uint8Array({ maxLength: 120 }).map((b) => bytesToHex(b)),
  operation: fc.constantFrom(0 as const, 1 as const),
});

describe('MultiSend packing', () => {
  it("round-trips and equals protocol-kit's encodeMultiSendData / decodeMultiSendData on random batches", () => {
    fc.assert(
      fc.property(fc.array(callArb, { minLength: 1, maxLength: 6 }), (calls) => {
        const packed = encodeMultiSendTransactions(calls);
        // eslint-disable-next-line @typescript-eslint/no-unsafe-enum-assignment -- protocol-kit's OperationType values are Safe's 0 / 1
        const theirs = encodeMultiSendData(calls.map((c) => ({ to: c.to, value: c.value.toString(), data: c.data, operation: c.operation })));
        expect(packed).toBe(theirs);
        expect(decodeMultiSendTransactions(packed)).toEqual(calls);
        expect(decodeMultiSendData(encodeMultiSend(calls)).map((c) => ({ to: getAddress(c.to), value: BigInt(c.value), data: c.data, operation: Number(c.operation) }))).toEqual(calls);
        expect(parseMultiSend(encodeMultiSend(calls))).toEqual(calls);
      }),
      { numRuns: 100 },
    );
  });

  it('refuses truncated, padded, empty and DELEGATECALL-in-call-only batches', () => {
    const packed = encodeMultiSendTransactions([{ to: alice, value: 1n, data: '0xabcdef', operation: 0 }]);
    expect(codeOf(() => decodeMultiSendTransactions(packed.slice(0, -2) as Hex))).toBe('safe.bad_multisend');
    expect(codeOf(() => decodeMultiSendTransactions(`${packed}00`))).toBe('safe.bad_multisend');
    expect(codeOf(() => decodeMultiSendTransactions('0x'))).toBe('safe.bad_multisend');
    expect(codeOf(() => decodeMultiSendTransactions(`0x02${packed.slice(4)}`))).toBe('safe.bad_multisend');
    expect(codeOf(() => encodeMultiSendTransactions([]))).toBe('safe.bad_multisend');
    expect(codeOf(() => createMultiSendTx({ calls: [{ to: alice, value: 0n, data: '0x', operation: 1 }], nonce: 0n }))).toBe('safe.bad_multisend');
    const tx = createMultiSendTx({ calls: [{ to: alice, value: 1n, data: '0x', operation: 0 }], nonce: 5n });
    expect(tx).toMatchObject({ to: multiSendCallOnly, operation: 1, value: 0n, nonce: 5n });
    // Non-canonical ABI encoding of multiSend(bytes) (a trailing byte) is not a batch to a reviewer.
    expect(parseMultiSend(`${encodeMultiSend([{ to: alice, value: 1n, data: '0x', operation: 0 }])}00`)).toBeUndefined();
  });
});

describe('calldata decoding and danger flags', () => {
  it('a plain ETH transfer and a rejection raise no danger', () => {
    const review = reviewSafeTx(createSafeTx({ to: alice, value: 5n, nonce: 0n }), ctx);
    expect(review.call.kind).toBe('eth_transfer');
    expect(review.outputs).toEqual([{ to: alice, amount: 5n, asset: 'ETH', isChange: false }]);
    expect(review.warnings).toEqual([]);
    const rejection = reviewSafeTx(createSafeTx({ to: safeAddress, nonce: 0n }), ctx);
    expect(rejection.dangers).toEqual([]);
    expect(rejection.outputs).toEqual([{ to: safeAddress, amount: 0n, asset: 'ETH', isChange: true }]);
  });

  it('ERC-20 transfer, transferFrom and approve: token outputs, unlimited approvals flagged', () => {
    const transfer = reviewSafeTx(createErc20Transfer({ token, to: bob, amount: 10n ** 18n, nonce: 0n }), ctx);
    expect(transfer.call).toMatchObject({ kind: 'erc20', method: 'transfer', token, args: { to: bob, amount: 10n ** 18n } });
    expect(transfer.outputs).toEqual([{ to: bob, amount: 10n ** 18n, asset: token, isChange: false }]);
    expect(transfer.warnings).toEqual([]);
    const from = reviewSafeTx(createSafeTx({ to: token, data: encodeFunctionData({ abi: ERC20_ABI, functionName: 'transferFrom', args: [alice, safeAddress, 7n] }), nonce: 0n }), ctx);
    expect(from.outputs).toEqual([{ to: safeAddress, amount: 7n, asset: token, isChange: true }]);
    expect(from.warnings.map((w) => w.code)).toEqual(['safe.transfer_from']);
    expect(from.dangers).toEqual([]);
    expect(codes(createErc20Approve({ token, spender: bob, amount: 1000n, nonce: 0n }))).toEqual(['safe.token_approval']);
    expect(codes(createErc20Approve({ token, spender: bob, amount: maxUint256, nonce: 0n }))).toEqual(['safe.unlimited_approval']);
    expect(codes(createErc20Approve({ token, spender: bob, amount: maxUint256 - 1n, nonce: 0n }))).toEqual(['safe.unlimited_approval']);
    expect(codes(createErc20Approve({ token, spender: bob, amount: UNLIMITED_APPROVAL - 1n, nonce: 0n }))).toEqual(['safe.token_approval']);
    // A token call with ETH attached shows both.
    const withValue = reviewSafeTx({ ...createErc20Transfer({ token, to: bob, amount: 1n, nonce: 0n }), value: 3n }, ctx);
    expect(withValue.outputs).toEqual([
      { to: token, amount: 3n, asset: 'ETH', isChange: false },
      { to: bob, amount: 1n, asset: token, isChange: false },
    ]);
  });

  it('owner, threshold, module, guard and fallback-handler changes each raise their own code', () => {
    // Loosely typed on purpose: the table below mixes every admin function.
    const adminAbi: Abi = SAFE_ADMIN_ABI;
    const enc = (functionName: string, args: readonly unknown[]): Hex => encodeFunctionData({ abi: adminAbi, functionName, args });
    const cases: [Hex, string[]][] = [
      [enc('addOwnerWithThreshold', [bob, 2n]), ['safe.owner_change']],
      [enc('addOwnerWithThreshold', [bob, 3n]), ['safe.owner_change', 'safe.threshold_change']],
      [enc('removeOwner', [alice, bob, 2n]), ['safe.owner_change']],
      [enc('removeOwner', [alice, bob, 1n]), ['safe.owner_change', 'safe.threshold_change']],
      [enc('swapOwner', [alice, bob, token]), ['safe.owner_change']],
      [enc('changeThreshold', [1n]), ['safe.threshold_change']],
      [enc('enableModule', [bob]), ['safe.module_change']],
      [enc('disableModule', [alice, bob]), ['safe.module_change']],
      [enc('setGuard', [bob]), ['safe.guard_change']],
      [enc('setGuard', [zeroAddress]), ['safe.guard_change']],
      [enc('setFallbackHandler', [bob]), ['safe.fallback_handler_change']],
      ['0x0d582f13', ['safe.self_call']], // addOwnerWithThreshold's selector without arguments
      ['0xd4d9bdcd', ['safe.self_call']], // approveHash: a self-call mofn does not decode
    ];
    for (const [data, expected] of cases) expect(codes(admin(data))).toEqual(expected);
    // Without the current threshold, an owner change always says the threshold may move.
    expect(codes(admin(enc('addOwnerWithThreshold', [bob, 2n])), { safeAddress })).toEqual(['safe.owner_change', 'safe.threshold_change']);
    // The same calldata sent to another contract is not a change of this Safe: undecoded.
    expect(codes(createSafeTx({ to: alice, data: enc('addOwnerWithThreshold', [bob, 2n]), nonce: 0n }))).toEqual(['safe.unknown_calldata']);
    const decoded = decodeSafeCall(admin(enc('swapOwner', [alice, bob, token])), ctx);
    expect(decoded).toMatchObject({ kind: 'safe_admin', method: 'swapOwner', args: { prevOwner: alice, oldOwner: bob, newOwner: token } });
  });

  it('DELEGATECALL: trusted only to MultiSendCallOnly at the top; MultiSend and nested delegatecalls flagged', () => {
    const inner: MultiSendCall[] = [
      { to: alice, value: 1n, data: '0x', operation: 0 },
      { to: token, value: 0n, data: createErc20Transfer({ token, to: bob, amount: 9n, nonce: 0n }).data, operation: 0 },
      { to: safeAddress, value: 0n, data: encodeFunctionData({ abi: SAFE_ADMIN_ABI, functionName: 'changeThreshold', args: [1n] }), operation: 0 },
    ];
    const batch = reviewSafeTx(createMultiSendTx({ calls: inner, nonce: 0n }), ctx);
    expect(batch.call.kind).toBe('multisend');
    expect(batch.outputs).toEqual([
      { to: alice, amount: 1n, asset: 'ETH', isChange: false },
      { to: bob, amount: 9n, asset: token, isChange: false },
    ]);
    expect(batch.dangers).toEqual(['safe.threshold_change']);
    expect(batch.warnings[0]!.message).toContain('call 3 of 3');

    const viaFullMultiSend = createSafeTx({ to: multiSend, data: encodeMultiSend(inner), operation: 1, nonce: 0n });
    expect(reviewSafeTx(viaFullMultiSend, ctx).dangers).toEqual(['safe.delegatecall', 'safe.threshold_change']);

    // A delegatecall hidden inside a MultiSend batch, itself inside a batch.
    const hidden = encodeMultiSend([{ to: addr('evil-lib'), value: 0n, data: '0x12345678', operation: 1 }]);
    const nested = createSafeTx({ to: multiSendCallOnly, data: encodeMultiSend([{ to: multiSend, value: 0n, data: hidden, operation: 1 }]), operation: 1, nonce: 0n });
    const review = reviewSafeTx(nested, ctx);
    expect(review.warnings.map((w) => w.code)).toEqual(['safe.delegatecall', 'safe.delegatecall', 'safe.unknown_calldata']);
    expect(review.warnings[1]!.message).toContain(addr('evil-lib'));
    expect(review.warnings[1]!.message).toContain('call 1 of 1 > call 1 of 1');
    expect(review.dangers).toEqual(['safe.delegatecall', 'safe.unknown_calldata']);

    // A delegatecall to an unknown contract, and to MultiSendCallOnly given as another address.
    expect(codes(createSafeTx({ to: alice, data: '0x', operation: 1, nonce: 0n }))).toEqual(['safe.delegatecall']);
    const customCallOnly = addr('custom-call-only');
    const custom = createMultiSendTx({ calls: inner.slice(0, 1), nonce: 0n, multiSendCallOnly: customCallOnly });
    expect(codes(custom)).toEqual(['safe.delegatecall', 'safe.unknown_calldata']);
    expect(codes(custom, { ...ctx, multiSendCallOnly: customCallOnly })).toEqual([]);

    // Batches nested deeper than 3 levels are not decoded.
    let data = encodeMultiSend(inner.slice(0, 1));
    for (let i = 0; i < 4; i++) data = encodeMultiSend([{ to: multiSendCallOnly, value: 0n, data, operation: 1 }]);
    expect(codes(createSafeTx({ to: multiSendCallOnly, data, operation: 1, nonce: 0n }))).toContain('safe.unknown_calldata');
  });

  it('gas refund fields raise their codes', () => {
    expect(codes(createSafeTx({ to: alice, nonce: 0n, gasPrice: 1n, gasToken: token, refundReceiver: bob }))).toEqual(['safe.gas_refund', 'safe.gas_token', 'safe.refund_receiver']);
  });

  it('never throws on random calldata, and every warning it raises is a known code', () => {
    fc.assert(
      fc.property(callArb, fc.constantFrom(alice, safeAddress, multiSend, multiSendCallOnly, token), (call, to) => {
        const review = reviewSafeTx(createSafeTx({ ...call, to, nonce: 0n }), ctx);
        for (const w of review.warnings) expect(isSafeDangerCode(w.code) || ['safe.token_approval', 'safe.transfer_from'].includes(w.code)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});

describe('acknowledgement before signing', () => {
  it('refuses until every danger code is acknowledged; informational warnings need none', () => {
    const review = reviewSafeTx(createSafeTx({ to: alice, data: '0xdeadbeef', operation: 1, gasPrice: 1n, nonce: 0n }), ctx);
    expect(review.dangers).toEqual(['safe.delegatecall', 'safe.unknown_calldata', 'safe.gas_refund']);
    let err: unknown;
    try {
      assertDangersAcknowledged(review, ['safe.gas_refund']);
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ name: 'SigningRefused', code: 'safe.unacknowledged_danger', details: { codes: ['safe.delegatecall', 'safe.unknown_calldata'] } });
    expect(codeOf(() => assertDangersAcknowledged(review, ['safe.delegatecall', 'safe.unknown_calldata']))).toBe('safe.unacknowledged_danger');
    expect(codeOf(() => assertDangersAcknowledged(review, ['safe.delegatecall', 'safe.unknown_calldata', 'safe.gas_refund', 'safe.owner_change']))).toBe('no error');
    // Approvals below the unlimited line, digests and the like are information.
    expect(codeOf(() => assertDangersAcknowledged(reviewSafeTx(createErc20Approve({ token, spender: bob, amount: 1n, nonce: 0n }), ctx), []))).toBe('no error');
    expect(codeOf(() => assertDangersAcknowledged({ warnings: [{ code: 'safe.tx_hash', message: '' }] }, []))).toBe('no error');
    expect(Object.isFrozen(SAFE_DANGER_CODES)).toBe(true);
  });
});

describe('SafeTx preimage and Safe message hash', () => {
  it("keccak256(encodeSafeTxData) is the safeTxHash; getSafeMessageHash equals protocol-kit's", () => {
    const domain = { chainId: 31337, safeAddress };
    const tx = createErc20Transfer({ token, to: bob, amount: 5n, nonce: 3n });
    const data = encodeSafeTxData(domain, tx);
    expect((data.length - 2) / 2).toBe(66);
    expect(keccak256(data)).toBe(getSafeTxHash(domain, tx));
    expect(getSafeMessageHash({ chainId: 31337, safeAddress: alice }, data)).toBe(calculateSafeMessageHash(alice, data, '1.4.1', 31337n));
  });
});
