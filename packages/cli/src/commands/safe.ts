import type { Command } from 'commander';
import {
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
  type SafeProposalReview,
} from '@mofn/service';
import { createEthereumKeySigner, deriveEthereumAddress, formatEthereumKeyPath } from '@mofn/signers';
import { withStore } from '../context.ts';
import { readInput, toJson, writeOutput, type Io } from '../io.ts';
import { collect, parseIntegerOption } from './options.ts';
import { approveHashLocal, approveHashRemote, type ApproveHashOptions } from './safeApprove.ts';
import { assertNoLocalRpc, dangerText, parseKeyIndex, parseNonce, specOf, withKeystore, withSender, type ProposeOptions, type ServerOption } from './safeCommon.ts';
import { addSignatureViaOwnerSafe, assertPlainSign, signViaOwnerSafe, singleSignatureFile, type AddSignatureOptions, type SignOptions } from './safeNested.ts';
import { remoteAddSignature, remoteCancel, remoteExec, remoteList, remotePropose, remoteRegister, remoteReview, remoteShow, remoteSign, remoteTypedData } from './safeRemote.ts';

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

/**
 * `mofn safe ...` and `mofn key eth-address`: Safe multisigs on Ethereum and EVM chains, on the local store,
 * or with `--server` on a coordinator (safeRemote.ts).
 */
export function registerSafeCommands(program: Command, io: Io): void {
  const key = program.commands.find((c) => c.name() === 'key') ?? program.command('key').description('software keystore');
  key
    .command('eth-address')
    .description("print the Ethereum address of the keystore's key m/44'/60'/0'/0/INDEX (give it as a Safe owner)")
    .requiredOption('--keystore <file>', 'keystore file')
    .option('--index <i>', 'address index', '0')
    .action(async (opts: { keystore: string; index: string }) => {
      const index = parseKeyIndex(opts.index);
      const address = await withKeystore(opts.keystore, (u) => Promise.resolve(deriveEthereumAddress(u, index)));
      io.out(address);
      io.err(`path ${formatEthereumKeyPath(index)}`);
    });

  const safe = program.command('safe').description('Safe (Ethereum / EVM) multisigs: create or import, propose, review, sign, execute; --server works with a coordinator');
  // Given alone, --server means $MOFN_SERVER; put it after the arguments (or write --server=URL) so it takes no argument as its URL.
  const withServer = (c: Command) => c.option('--server [url]', 'work on the coordinator at url (alone: $MOFN_SERVER; token from $MOFN_TOKEN) instead of the local store');

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

  withServer(safe.command('register <name>'))
    .description('register an existing Safe with a coordinator (read on chain by the server); you become its admin')
    .requiredOption('--address <address>', 'the Safe address')
    .requiredOption('--chain <id>', 'chain id')
    .option('--json', 'print JSON')
    .action(async (name: string, opts: ServerOption & { address: string; chain: string; json?: boolean }) => {
      const chainId = parseIntegerOption('--chain', opts.chain, 1, Number.MAX_SAFE_INTEGER);
      await remoteRegister(io, name, { ...opts, chainId });
    });

  withServer(safe.command('show <name>'))
    .description('a stored Safe as it is on chain now (with --server: as the coordinator serves it, with your roles)')
    .option('--json', 'print JSON')
    .action(async (name: string, opts: ServerOption & { json?: boolean }) => {
      if (opts.server !== undefined) {
        await remoteShow(io, name, opts);
        return;
      }
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

  withServer(safe.command('propose <name>'))
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
    .action(async (name: string, opts: ProposeOptions & ServerOption) => {
      if (opts.server !== undefined) {
        await remotePropose(io, name, opts);
        return;
      }
      const spec = specOf(opts);
      const nonce = opts.nonce === undefined ? undefined : parseNonce('--nonce', opts.nonce);
      const review = await withStore((ctx) => proposeSafeTx(ctx, { safe: name, spec, ...(nonce === undefined ? {} : { nonce }) }));
      if (opts.json) io.out(toJson(review));
      else printReview(io, review);
    });

  withServer(safe.command('review <name> <id>'))
    .description('review a proposal: decoded calls, payments, danger flags, SafeTx hash and domain separator, signatures')
    .option('--json', 'print JSON')
    .action(async (name: string, id: string, opts: ServerOption & { json?: boolean }) => {
      if (opts.server !== undefined) {
        await remoteReview(io, name, id, opts);
        return;
      }
      const review = await withStore((ctx) => reviewSafeProposal(ctx, { safe: name, id }));
      if (opts.json) io.out(toJson(review));
      else printReview(io, review);
    });

  withServer(safe.command('sign <name> <id>'))
    .description(
      'sign a proposal (EIP-712) with a keystore Ethereum key; every danger flag needs --ack CODE (with --server: checked here, then uploaded); with --via, sign as an owner of an owner Safe (EIP-1271)',
    )
    .requiredOption('--keystore <file>', 'keystore file')
    .option('--index <i>', "Ethereum key index (m/44'/60'/0'/0/i)", '0')
    .option('--ack <code>', 'acknowledge a danger flag by its code (repeat)', collect, [])
    .option('--via <address>', 'sign for this owner of the Safe, itself a Safe of which the key is an owner (its threshold 1: stored at once; higher: needs --out)')
    .option('--out <file>', "with --via: write this key's partial signature to a file, to combine with add-signature --via")
    .option('--rpc <url>', "with --via and --server: JSON-RPC URL of the Safe's chain, to read the owner Safe (locally the stored Safe's)")
    .option('--json', 'print JSON')
    .action(async (name: string, id: string, opts: SignOptions) => {
      if (opts.via !== undefined) {
        await signViaOwnerSafe(io, name, id, { ...opts, via: opts.via });
        return;
      }
      assertPlainSign(opts);
      if (opts.server !== undefined) {
        await remoteSign(io, name, id, opts);
        return;
      }
      const index = parseKeyIndex(opts.index);
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

  withServer(safe.command('approve-hash <name> <id>'))
    .description("approve a proposal's safeTxHash on chain from an owner's keystore key (approveHash), then record that approval as the owner's signature")
    .requiredOption('--from-keystore <file>', 'keystore of the owner (its key sends approveHash and pays the gas)')
    .option('--index <i>', "Ethereum key index (m/44'/60'/0'/0/i)", '0')
    .option('--rpc <url>', "JSON-RPC URL of the Safe's chain (with --server; locally the stored Safe's)")
    .option('--ack <code>', 'acknowledge a danger flag by its code (repeat)', collect, [])
    .option('--json', 'print JSON')
    .action(async (name: string, id: string, opts: ApproveHashOptions) => {
      if (opts.server !== undefined) await approveHashRemote(io, name, id, opts);
      else await approveHashLocal(io, name, id, opts);
    });

  withServer(safe.command('typed-data <name> <id>'))
    .description('print the EIP-712 typed data of a proposal (eth_signTypedData_v4 JSON) to sign elsewhere')
    .option('--out <file>', 'write to a file instead of stdout')
    .action(async (name: string, id: string, opts: ServerOption & { out?: string }) => {
      if (opts.server !== undefined) {
        await remoteTypedData(io, name, id, opts);
        return;
      }
      const { typedData, safeTxHash } = await withStore((ctx) => getSafeTypedDataJson(ctx, { safe: name, id }));
      const text = toJson(typedData);
      if (opts.out === undefined) io.out(text);
      else writeOutput(opts.out, `${text}\n`);
      io.err(`safeTxHash ${safeTxHash}: your signing device must show this hash`);
    });

  withServer(safe.command('add-signature <name> <id>'))
    .description("add an owner signature made elsewhere: JSON { signer, data, chainId?, safeAddress?, safeTxHash? }; with --via, combine partial signatures into an owner Safe's")
    .option('--file <file>', 'signature file (- for stdin); with --via, one partial signature file per owner of the owner Safe (repeat)', collect, [])
    .option('--via <address>', 'combine the partial signatures of the owners of this owner Safe (see sign --via --out) into its contract signature')
    .option('--rpc <url>', "with --via and --server: JSON-RPC URL of the Safe's chain, to read the owner Safe (locally the stored Safe's)")
    .option('--json', 'print JSON')
    .action(async (name: string, id: string, opts: AddSignatureOptions) => {
      if (opts.via !== undefined) {
        await addSignatureViaOwnerSafe(io, name, id, { ...opts, via: opts.via });
        return;
      }
      const file = singleSignatureFile(opts);
      if (opts.server !== undefined) {
        await remoteAddSignature(io, name, id, { ...opts, file });
        return;
      }
      const signature = parseSafeSignatureFile(readInput(file));
      const stored = await withStore((ctx) => addSafeSignature(ctx, { safe: name, id, signature }));
      if (opts.json) io.out(toJson(stored));
      else io.out(`signature of ${stored.owner} (${stored.kind}) verified and stored: ${stored.count} of ${stored.threshold}`);
    });

  withServer(safe.command('exec <name> <id>'))
    .description('execute a proposal with its signatures (simulated with eth_call first, gas estimated); with --server, sent from here through --rpc and reported')
    .option('--from-keystore <file>', 'send from this keystore’s Ethereum key (default: the node’s unlocked account)')
    .option('--index <i>', 'Ethereum key index in --from-keystore', '0')
    .option('--rpc <url>', "JSON-RPC URL of the Safe's chain (with --server)")
    .option('--json', 'print JSON')
    .action(async (name: string, id: string, opts: ServerOption & { fromKeystore?: string; index: string; rpc?: string; json?: boolean }) => {
      if (opts.server !== undefined) {
        await remoteExec(io, name, id, opts);
        return;
      }
      assertNoLocalRpc(opts.rpc);
      const done = await withSender(opts, (sender) => withStore((ctx) => executeSafeProposal(ctx, { safe: name, id, ...(sender === undefined ? {} : { sender }) })));
      if (opts.json) {
        io.out(toJson(done));
        return;
      }
      io.out(`executed proposal ${done.id}: tx ${done.txHash} in block ${done.blockNumber}, gas used ${done.gasUsed} (estimate ${done.gasEstimate})`);
      if (done.superseded.length > 0) io.out(`  superseded at the same nonce: ${done.superseded.join(', ')}`);
    });

  withServer(safe.command('cancel <name> <id>'))
    .description("withdraw a proposal on a coordinator (its proposer or a Safe admin); off-chain only: to cancel on chain, propose --reject at its nonce")
    .option('--json', 'print JSON')
    .action(async (name: string, id: string, opts: ServerOption & { json?: boolean }) => {
      await remoteCancel(io, name, id, opts);
    });

  withServer(safe.command('list <name>'))
    .description('the nonce queue: proposals per nonce, executed and superseded ones closed')
    .option('--json', 'print JSON')
    .action(async (name: string, opts: ServerOption & { json?: boolean }) => {
      if (opts.server !== undefined) {
        await remoteList(io, name, opts);
        return;
      }
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
