import type { Command } from 'commander';
import { InvalidInputError } from '@mofn/core';
import { SAFE_DANGER_CODES } from '@mofn/ethereum';
import {
  SAFE_SERVICE_DANGER_CODES,
  addSafeSignature,
  assertReviewAcknowledged,
  createStoredSafe,
  executeSafeProposal,
  getSafeTypedDataJson,
  importStoredSafe,
  listSafeProposals,
  parseSafeSignatureFile,
  proposeSafeTx,
  reviewSafeProposal,
  showSafe,
  signSafeProposal,
  type SafeBatchCall,
  type SafeProposalReview,
  type SafeProposalSpec,
  type SafeSender,
} from '@mofn/service';
import { createEthereumKeySigner, deriveEthereumAccount, deriveEthereumAddress, formatEthereumKeyPath, lockKeystore, readKeystore, unlockKeystore, type UnlockedKeystore } from '@mofn/signers';
import { withStore } from '../context.ts';
import { readInput, toJson, writeOutput, type Io } from '../io.ts';
import { getPassword } from '../password.ts';
import { collect, parseIntegerOption } from './options.ts';

function parseWei(name: string, text: string): bigint {
  if (!/^[0-9]{1,78}$/.test(text)) throw new InvalidInputError('option.bad_amount', `${name} must be an integer amount in wei, got '${text.slice(0, 80)}'`, { hint: '1 ETH is 1000000000000000000 wei' });
  return BigInt(text);
}

function parseNonce(name: string, text: string): bigint {
  if (!/^[0-9]{1,19}$/.test(text)) throw new InvalidInputError('option.bad_integer', `${name} must be a non-negative integer, got '${text.slice(0, 80)}'`);
  return BigInt(text);
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
async function withKeystore<T>(file: string, fn: (unlocked: UnlockedKeystore) => Promise<T>): Promise<T> {
  const unlocked = await unlockKeystore(await readKeystore(file), getPassword());
  try {
    return await fn(unlocked);
  } finally {
    lockKeystore(unlocked);
  }
}

/** The gas payer: an Ethereum key of a keystore, or (undefined) the node's first unlocked account. */
async function withSender<T>(opts: { fromKeystore?: string; index: string }, fn: (sender: SafeSender | undefined) => Promise<T>): Promise<T> {
  if (opts.fromKeystore === undefined) return fn(undefined);
  const index = parseIntegerOption('--index', opts.index, 0, 2 ** 31 - 1);
  return withKeystore(opts.fromKeystore, (unlocked) => fn(deriveEthereumAccount(unlocked, index)));
}

interface ProposeOptions {
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
function specOf(o: ProposeOptions): SafeProposalSpec {
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

function dangerText(code: string): string | undefined {
  return (SAFE_DANGER_CODES as Record<string, string>)[code] ?? (SAFE_SERVICE_DANGER_CODES as Record<string, string>)[code];
}

function printReview(io: Io, r: SafeProposalReview): void {
  const p = r.proposal;
  io.out(`proposal ${p.id} of Safe '${r.safe.name}' (${r.safe.address}, chain ${r.safe.chainId}): ${p.state}, nonce ${p.nonce}`);
  io.out(`  ${r.summary}`);
  io.out(`  safeTxHash        ${r.safeTxHash}`);
  io.out(`  domain separator  ${r.domainSeparator}`);
  io.out('  check both hashes against what your signing device shows');
  const t = r.tx;
  io.out(`  to ${t.to}  value ${t.value}  operation ${t.operation === 0 ? 'CALL' : 'DELEGATECALL'}  data ${t.data.length > 74 ? `${t.data.slice(0, 74)}... (${(t.data.length - 2) / 2} bytes)` : t.data}`);
  io.out(`  safeTxGas ${t.safeTxGas}  baseGas ${t.baseGas}  gasPrice ${t.gasPrice}  gasToken ${t.gasToken}  refundReceiver ${t.refundReceiver}`);
  if (r.call.kind === 'multisend') {
    for (const [i, c] of r.call.calls.entries()) io.out(`  batch call ${i + 1}: ${c.kind}${'method' in c ? ` ${c.method}` : ''} to ${c.to} value ${c.value}`);
  }
  if (p.meta.function !== undefined) io.out(`  decoded with the proposer's ABI: ${p.meta.function}(${(p.meta.args ?? []).join(', ')})`);
  for (const o of r.outputs) io.out(`  pays ${o.amount} ${o.asset === 'ETH' ? 'wei' : `units of ${o.asset}`} to ${o.to}${o.isChange ? ' (the Safe itself)' : ''}`);
  for (const w of r.warnings) io.out(`  ${r.dangers.includes(w.code) ? 'DANGER' : 'note'} [${w.code}] ${w.message}`);
  for (const code of r.dangers) io.out(`  to sign, acknowledge with --ack ${code}${dangerText(code) === undefined ? '' : ` (${dangerText(code)})`}`);
  io.out(`  signatures ${r.signatures.length} of ${r.threshold}${r.signatures.map((s) => `\n    ${s.owner} (${s.kind}, ${s.source})`).join('')}`);
}

/** `mofn safe ...` (local mode) and `mofn key eth-address`: Safe multisigs on Ethereum and EVM chains. */
export function registerSafeCommands(program: Command, io: Io): void {
  const key = program.commands.find((c) => c.name() === 'key') ?? program.command('key').description('software keystore');
  key
    .command('eth-address')
    .description("print the Ethereum address of the keystore's key m/44'/60'/0'/0/INDEX (give it as a Safe owner)")
    .requiredOption('--keystore <file>', 'keystore file')
    .option('--index <i>', 'address index', '0')
    .action(async (opts: { keystore: string; index: string }) => {
      const index = parseIntegerOption('--index', opts.index, 0, 2 ** 31 - 1);
      const address = await withKeystore(opts.keystore, (u) => Promise.resolve(deriveEthereumAddress(u, index)));
      io.out(address);
      io.err(`path ${formatEthereumKeyPath(index)}`);
    });

  const safe = program.command('safe').description('Safe (Ethereum / EVM) multisigs: create or import, propose, review, sign, execute');

  safe
    .command('create <name>')
    .description('deploy a new Safe v1.4.1 (CREATE2 address predicted and checked) and store it')
    .requiredOption('--owner <address>', 'owner address (repeat)', collect, [])
    .requiredOption('--threshold <m>', 'signatures required')
    .requiredOption('--chain <id>', 'chain id')
    .requiredOption('--rpc <url>', 'JSON-RPC URL')
    .option('--salt <n>', 'CREATE2 salt nonce (another salt, another Safe for the same owners)', '0')
    .option('--from-keystore <file>', 'pay the deployment from this keystore (default: the node’s unlocked account)')
    .option('--index <i>', 'Ethereum key index in --from-keystore', '0')
    .option('--json', 'print JSON')
    .action(async (name: string, opts: { owner: string[]; threshold: string; chain: string; rpc: string; salt: string; fromKeystore?: string; index: string; json?: boolean }) => {
      const threshold = parseIntegerOption('--threshold', opts.threshold, 1, 1000);
      const chainId = parseIntegerOption('--chain', opts.chain, 1, Number.MAX_SAFE_INTEGER);
      const saltNonce = parseNonce('--salt', opts.salt);
      const created = await withSender(opts, (sender) =>
        withStore((ctx) => createStoredSafe(ctx, { name, owners: opts.owner, threshold, chainId, rpcUrl: opts.rpc, saltNonce, ...(sender === undefined ? {} : { sender }) })),
      );
      if (opts.json) {
        io.out(toJson(created));
        return;
      }
      io.out(`Safe '${name}' deployed at ${created.safe.address} on chain ${chainId} (tx ${created.txHash}, gas ${created.gasUsed})`);
      io.out(`  ${created.safe.threshold}-of-${created.safe.owners.length}: ${created.safe.owners.join(', ')}`);
    });

  safe
    .command('import <name>')
    .description('store an existing Safe (its singleton must be a known Safe deployment, version >= 1.3.0)')
    .requiredOption('--address <address>', 'the Safe address')
    .requiredOption('--chain <id>', 'chain id')
    .requiredOption('--rpc <url>', 'JSON-RPC URL')
    .option('--json', 'print JSON')
    .action(async (name: string, opts: { address: string; chain: string; rpc: string; json?: boolean }) => {
      const chainId = parseIntegerOption('--chain', opts.chain, 1, Number.MAX_SAFE_INTEGER);
      const { imported } = await withStore((ctx) => importStoredSafe(ctx, { name, address: opts.address, chainId, rpcUrl: opts.rpc }));
      if (opts.json) {
        io.out(toJson(imported));
        return;
      }
      io.out(`Safe '${name}' imported: ${imported.address} on chain ${chainId}, ${imported.singleton.name} ${imported.version}, ${imported.threshold}-of-${imported.owners.length}, nonce ${imported.nonce}`);
      if (imported.modules.length > 0) io.out(`  modules (they can act without owner signatures): ${imported.modules.join(', ')}`);
      if (imported.guard !== undefined) io.out(`  guard ${imported.guard}`);
    });

  safe
    .command('show <name>')
    .description('a stored Safe as it is on chain now')
    .option('--json', 'print JSON')
    .action(async (name: string, opts: { json?: boolean }) => {
      const s = await withStore((ctx) => showSafe(ctx, name));
      if (opts.json) {
        io.out(toJson(s));
        return;
      }
      const c = s.onChain;
      io.out(`Safe '${name}': ${c.address} on chain ${c.chainId} (${s.safe.rpcUrl})`);
      io.out(`  ${c.singleton.name} ${c.version} at ${c.singleton.address}`);
      io.out(`  threshold ${c.threshold} of ${c.owners.length} owners:`);
      for (const o of c.owners) io.out(`    ${o}`);
      io.out(`  nonce ${c.nonce}, balance ${s.balance} wei, ${s.openProposals} open proposal(s)`);
      io.out(`  modules ${c.modules.length === 0 ? 'none' : c.modules.join(', ')}; guard ${c.guard ?? 'none'}; fallback handler ${c.fallbackHandler ?? 'none'}`);
    });

  safe
    .command('propose <name>')
    .description('propose a Safe transaction: ETH, ERC-20, contract call, batch, owner change or rejection')
    .option('--to <address>', 'recipient (ETH with --value, ERC-20 with --erc20 and --amount)')
    .option('--value <wei>', 'ETH amount in wei (also with --call)')
    .option('--erc20 <token>', 'ERC-20 token contract')
    .option('--amount <tokens>', 'ERC-20 amount in whole tokens, e.g. 12.5 (decimals read from the token)')
    .option('--call <address>', 'contract to call')
    .option('--abi <file>', 'ABI JSON file (array, or an artifact with "abi") for --call')
    .option('--function <sig>', "function name or signature, e.g. 'approve(address,uint256)'")
    .option('--args <json>', 'JSON array of arguments (large integers as decimal strings)')
    .option('--batch <file>', 'JSON file: array of { "to", "value", "data" } run by MultiSendCallOnly')
    .option('--add-owner <address>', 'add an owner (optionally with --threshold)')
    .option('--remove-owner <address>', 'remove an owner (optionally with --threshold)')
    .option('--swap-owner <address>', 'replace this owner by --new-owner')
    .option('--new-owner <address>', 'the replacing owner of --swap-owner')
    .option('--threshold <m>', 'change the threshold (alone), or the threshold after --add-owner / --remove-owner')
    .option('--reject <nonce>', 'propose a rejection at this nonce (cancels the other proposals there)')
    .option('--nonce <n>', 'nonce (default: the next after the queue)')
    .option('--json', 'print JSON')
    .action(async (name: string, opts: ProposeOptions) => {
      const spec = specOf(opts);
      const nonce = opts.nonce === undefined ? undefined : parseNonce('--nonce', opts.nonce);
      const review = await withStore((ctx) => proposeSafeTx(ctx, { safe: name, spec, ...(nonce === undefined ? {} : { nonce }) }));
      if (opts.json) io.out(toJson(review));
      else printReview(io, review);
    });

  safe
    .command('review <name> <id>')
    .description('review a proposal: decoded calls, payments, danger flags, SafeTx hash and domain separator, signatures')
    .option('--json', 'print JSON')
    .action(async (name: string, id: string, opts: { json?: boolean }) => {
      const review = await withStore((ctx) => reviewSafeProposal(ctx, { safe: name, id }));
      if (opts.json) io.out(toJson(review));
      else printReview(io, review);
    });

  safe
    .command('sign <name> <id>')
    .description('sign a proposal (EIP-712) with a keystore Ethereum key; every danger flag needs --ack CODE')
    .requiredOption('--keystore <file>', 'keystore file')
    .option('--index <i>', "Ethereum key index (m/44'/60'/0'/0/i)", '0')
    .option('--ack <code>', 'acknowledge a danger flag by its code (repeat)', collect, [])
    .option('--json', 'print JSON')
    .action(async (name: string, id: string, opts: { keystore: string; index: string; ack: string[]; json?: boolean }) => {
      const index = parseIntegerOption('--index', opts.index, 0, 2 ** 31 - 1);
      // Review and acknowledgement are checked before the password is asked.
      await withStore(async (ctx) => {
        assertReviewAcknowledged(await reviewSafeProposal(ctx, { safe: name, id }), opts.ack);
      });
      const stored = await withKeystore(opts.keystore, (unlocked) =>
        withStore((ctx) => signSafeProposal(ctx, { safe: name, id, signer: createEthereumKeySigner(unlocked, index), acknowledged: opts.ack })),
      );
      if (opts.json) io.out(toJson(stored));
      else io.out(`signed by ${stored.owner}: ${stored.count} of ${stored.threshold} signature(s) (safeTxHash ${stored.safeTxHash})`);
    });

  safe
    .command('typed-data <name> <id>')
    .description('print the EIP-712 typed data of a proposal (eth_signTypedData_v4 JSON) to sign elsewhere')
    .option('--out <file>', 'write to a file instead of stdout')
    .action(async (name: string, id: string, opts: { out?: string }) => {
      const { typedData, safeTxHash } = await withStore((ctx) => getSafeTypedDataJson(ctx, { safe: name, id }));
      const text = toJson(typedData);
      if (opts.out === undefined) io.out(text);
      else writeOutput(opts.out, `${text}\n`);
      io.err(`safeTxHash ${safeTxHash}: your signing device must show this hash`);
    });

  safe
    .command('add-signature <name> <id>')
    .description('add an owner signature made elsewhere: JSON { signer, data, chainId?, safeAddress?, safeTxHash? }')
    .requiredOption('--file <file>', 'signature file (- for stdin)')
    .option('--json', 'print JSON')
    .action(async (name: string, id: string, opts: { file: string; json?: boolean }) => {
      const signature = parseSafeSignatureFile(readInput(opts.file));
      const stored = await withStore((ctx) => addSafeSignature(ctx, { safe: name, id, signature }));
      if (opts.json) io.out(toJson(stored));
      else io.out(`signature of ${stored.owner} (${stored.kind}) verified and stored: ${stored.count} of ${stored.threshold}`);
    });

  safe
    .command('exec <name> <id>')
    .description('execute a proposal with its signatures (simulated with eth_call first, gas estimated)')
    .option('--from-keystore <file>', 'send from this keystore’s Ethereum key (default: the node’s unlocked account)')
    .option('--index <i>', 'Ethereum key index in --from-keystore', '0')
    .option('--json', 'print JSON')
    .action(async (name: string, id: string, opts: { fromKeystore?: string; index: string; json?: boolean }) => {
      const done = await withSender(opts, (sender) => withStore((ctx) => executeSafeProposal(ctx, { safe: name, id, ...(sender === undefined ? {} : { sender }) })));
      if (opts.json) {
        io.out(toJson(done));
        return;
      }
      io.out(`executed proposal ${done.id}: tx ${done.txHash} in block ${done.blockNumber}, gas used ${done.gasUsed} (estimate ${done.gasEstimate})`);
      if (done.superseded.length > 0) io.out(`  superseded at the same nonce: ${done.superseded.join(', ')}`);
    });

  safe
    .command('list <name>')
    .description('the nonce queue: proposals per nonce, executed and superseded ones closed')
    .option('--json', 'print JSON')
    .action(async (name: string, opts: { json?: boolean }) => {
      const queue = await withStore((ctx) => listSafeProposals(ctx, name));
      if (opts.json) {
        io.out(toJson(queue));
        return;
      }
      io.out(`Safe '${name}': nonce ${queue.nonce ?? '?'}, threshold ${queue.threshold}`);
      for (const g of queue.groups) {
        io.out(`nonce ${g.nonce} (${g.status})`);
        for (const p of g.proposals) io.out(`  ${String(p.id).padStart(3)} ${p.state.padEnd(10)} ${p.kind.padEnd(12)} ${p.signatures}/${queue.threshold} sigs  ${p.safeTxHash}`);
      }
    });
}
