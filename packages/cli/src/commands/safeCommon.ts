/** Option parsing and key handling shared by the local (`safe.ts`) and remote (`safeRemote.ts`) Safe commands. */
import { InvalidInputError } from '@mofn/core';
import { SAFE_DANGER_CODES } from '@mofn/ethereum';
import { SAFE_SERVICE_DANGER_CODES, type SafeBatchCall, type SafeProposalSpec, type SafeSender } from '@mofn/service';
import { deriveEthereumAccount, lockKeystore, readKeystore, unlockKeystore, type UnlockedKeystore } from '@mofn/signers';
import { readInput } from '../io.ts';
import { getPassword } from '../password.ts';
import { parseIntegerOption } from './options.ts';

/** `--server [url]`: absent (local store), given alone (true: $MOFN_SERVER), or a URL. */
export interface ServerOption {
  server?: string | true;
}

/** The URL to hand to remoteClient: undefined lets it fall back to $MOFN_SERVER. */
export function serverUrlOf(opts: ServerOption): string | undefined {
  return typeof opts.server === 'string' ? opts.server : undefined;
}

/** @throws InvalidInputError `option.rpc_not_local` when `--rpc` is given without `--server`. */
export function assertNoLocalRpc(rpc: string | undefined): void {
  if (rpc !== undefined) {
    throw new InvalidInputError('option.rpc_not_local', '--rpc is for remote mode (--server): a stored Safe is reached through the RPC URL it was stored with', { hint: 'drop --rpc, or add --server' });
  }
}

/** Parses a wei amount. @throws InvalidInputError `option.bad_amount` */
export function parseWei(name: string, text: string): bigint {
  if (!/^[0-9]{1,78}$/.test(text)) throw new InvalidInputError('option.bad_amount', `${name} must be an integer amount in wei, got '${text.slice(0, 80)}'`, { hint: '1 ETH is 1000000000000000000 wei' });
  return BigInt(text);
}

/** Parses a Safe nonce. @throws InvalidInputError `option.bad_integer` */
export function parseNonce(name: string, text: string): bigint {
  if (!/^[0-9]{1,19}$/.test(text)) throw new InvalidInputError('option.bad_integer', `${name} must be a non-negative integer, got '${text.slice(0, 80)}'`);
  return BigInt(text);
}

/** Parses the Ethereum key index of `--index`. @throws InvalidInputError `option.bad_integer` */
export function parseKeyIndex(text: string): number {
  return parseIntegerOption('--index', text, 0, 2 ** 31 - 1);
}

function parseJsonFile(path: string, what: string): unknown {
  try {
    return JSON.parse(readInput(path)) as unknown;
  } catch (cause) {
    if (cause instanceof SyntaxError) throw new InvalidInputError('option.bad_json', `${what} ${path} is not valid JSON`, { cause });
    throw cause;
  }
}

/** Runs `fn` with an unlocked keystore, locking it afterwards whatever happens. */
export async function withKeystore<T>(file: string, fn: (unlocked: UnlockedKeystore) => Promise<T>): Promise<T> {
  const unlocked = await unlockKeystore(await readKeystore(file), getPassword());
  try {
    return await fn(unlocked);
  } finally {
    lockKeystore(unlocked);
  }
}

/** The gas payer: an Ethereum key of a keystore, or (undefined) the node's first unlocked account. */
export async function withSender<T>(opts: { fromKeystore?: string; index: string }, fn: (sender: SafeSender | undefined) => Promise<T>): Promise<T> {
  if (opts.fromKeystore === undefined) return fn(undefined);
  const index = parseKeyIndex(opts.index);
  return withKeystore(opts.fromKeystore, (unlocked) => fn(deriveEthereumAccount(unlocked, index)));
}

/** The options of `mofn safe propose`. */
export interface ProposeOptions {
  to?: string;
  value?: string;
  erc20?: string;
  amount?: string;
  call?: string;
  abi?: string;
  function?: string;
  args?: string;
  batch?: string;
  addOwner?: string;
  removeOwner?: string;
  swapOwner?: string;
  newOwner?: string;
  threshold?: string;
  reject?: string;
  nonce?: string;
  json?: boolean;
}

/** The one proposal the options describe. @throws InvalidInputError `option.bad_proposal` */
export function specOf(o: ProposeOptions): SafeProposalSpec {
  const threshold = o.threshold === undefined ? undefined : parseIntegerOption('--threshold', o.threshold, 1, 1000);
  const modes = [o.erc20, o.call, o.batch, o.addOwner, o.removeOwner, o.swapOwner, o.reject].filter((x) => x !== undefined).length;
  const usage = (message: string) => new InvalidInputError('option.bad_proposal', message, { hint: 'see `mofn safe propose --help`' });
  if (modes > 1) throw usage('give exactly one of --erc20, --call, --batch, --add-owner, --remove-owner, --swap-owner, --reject');
  if (o.erc20 !== undefined) {
    if (o.to === undefined || o.amount === undefined) throw usage('--erc20 TOKEN needs --to ADDR and --amount TOKENS');
    return { kind: 'erc20', token: o.erc20, to: o.to, amount: o.amount };
  }
  if (o.call !== undefined) {
    if (o.abi === undefined || o.function === undefined) throw usage('--call ADDR needs --abi FILE and --function SIG');
    let args: unknown = [];
    if (o.args !== undefined) {
      try {
        args = JSON.parse(o.args) as unknown;
      } catch (cause) {
        throw new InvalidInputError('option.bad_json', '--args must be a JSON array', { cause });
      }
    }
    return { kind: 'call', to: o.call, abi: parseJsonFile(o.abi, 'ABI file'), function: o.function, args, ...(o.value === undefined ? {} : { value: parseWei('--value', o.value) }) };
  }
  if (o.batch !== undefined) {
    const calls = parseJsonFile(o.batch, 'batch file');
    if (!Array.isArray(calls)) throw usage('the batch file must hold a JSON array of { "to", "value", "data" }');
    return {
      kind: 'batch',
      calls: calls.map((c: unknown, i): SafeBatchCall => {
        if (typeof c !== 'object' || c === null) throw usage(`batch call ${i + 1} is not an object`);
        const { to, value, data } = c as Record<string, unknown>;
        if (typeof to !== 'string') throw usage(`batch call ${i + 1} has no "to" address`);
        if (data !== undefined && typeof data !== 'string') throw usage(`batch call ${i + 1}: "data" must be 0x hex`);
        if (value !== undefined && typeof value !== 'string' && typeof value !== 'number') throw usage(`batch call ${i + 1}: "value" must be wei as a decimal string`);
        return { to, ...(value === undefined ? {} : { value: parseWei(`batch call ${i + 1} value`, String(value)) }), ...(typeof data === 'string' ? { data } : {}) };
      }),
    };
  }
  if (o.addOwner !== undefined) return { kind: 'add_owner', owner: o.addOwner, ...(threshold === undefined ? {} : { threshold }) };
  if (o.removeOwner !== undefined) return { kind: 'remove_owner', owner: o.removeOwner, ...(threshold === undefined ? {} : { threshold }) };
  if (o.swapOwner !== undefined) {
    if (o.newOwner === undefined) throw usage('--swap-owner OLD needs --new-owner NEW');
    return { kind: 'swap_owner', oldOwner: o.swapOwner, newOwner: o.newOwner };
  }
  if (o.reject !== undefined) return { kind: 'reject', nonce: parseNonce('--reject', o.reject) };
  if (o.to !== undefined) {
    if (o.value === undefined) throw usage('--to ADDR needs --value WEI (or --erc20 TOKEN --amount TOKENS)');
    return { kind: 'eth', to: o.to, value: parseWei('--value', o.value) };
  }
  if (threshold !== undefined) return { kind: 'threshold', threshold };
  throw usage('say what to propose: --to/--value, --erc20, --call, --batch, --add-owner, --remove-owner, --swap-owner, --threshold or --reject');
}

/** What a danger code means, when mofn knows it. */
export function dangerText(code: string): string | undefined {
  return (SAFE_DANGER_CODES as Record<string, string>)[code] ?? (SAFE_SERVICE_DANGER_CODES as Record<string, string>)[code];
}
