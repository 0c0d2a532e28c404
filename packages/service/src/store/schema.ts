/**
 * The store's tables. Portable between SQLite and PostgreSQL: ids and hashes are text,
 * amounts are decimal text (bigint in code), timestamps are ISO-8601 text in UTC.
 */
export interface Database {
  wallets: WalletTable;
  cosigners: CosignerTable;
  addresses: AddressTable;
  outpoints: OutpointTable;
  labels: LabelTable;
  users: UserTable;
  tokens: TokenTable;
  wallet_roles: WalletRoleTable;
  proposals: ProposalTable;
  proposal_spends: ProposalSpendTable;
  proposal_signatures: ProposalSignatureTable;
  proposal_declines: ProposalDeclineTable;
  comments: CommentTable;
  audit_events: AuditEventTable;
  webhooks: WebhookTable;
  outbox: OutboxTable;
  webhook_deliveries: WebhookDeliveryTable;
  idempotency_keys: IdempotencyKeyTable;
  chain_backends: ChainBackendTable;
  chain_syncs: ChainSyncTable;
  chain_txs: ChainTxTable;
  chain_utxos: ChainUtxoTable;
  chain_addresses: ChainAddressTable;
  safes: SafeTable;
  safe_proposals: SafeProposalTable;
  safe_signatures: SafeSignatureTable;
}

/** A wallet definition. Immutable once written: `id` is the hash of `descriptor`. */
export interface WalletTable {
  id: string;
  name: string;
  chain: string;
  network: string;
  script_type: string;
  threshold: number;
  total: number;
  sorted: number;
  /** Canonical multipath descriptor with checksum. */
  descriptor: string;
  created_at: string;
}

/** One cosigner key of a wallet, in descriptor order. */
export interface CosignerTable {
  wallet_id: string;
  position: number;
  fingerprint: string;
  origin_path: string | null;
  xpub: string;
  /** Hex of the account-level public key: the identity used to detect duplicates. */
  public_key: string;
  label: string | null;
}

/** Addresses handed out or seen, per wallet branch/index. */
export interface AddressTable {
  wallet_id: string;
  branch: number;
  idx: number;
  address: string;
  script_pubkey: string;
  created_at: string;
  /** When the coordinator handed it out as a receive address (null: only listed). */
  issued_at?: string | null;
}

/**
 * Every outpoint whose amount mofn has seen. A later PSBT claiming another amount for
 * the same outpoint is refused: the segwit v0 fee attack (BIP-143 signs only the
 * input's own amount, so a lying updater can inflate the fee across two signings).
 */
export interface OutpointTable {
  txid: string;
  vout: number;
  amount: string;
  script_pubkey: string;
  wallet_id: string | null;
  first_seen: string;
}

/** BIP-329 labels. */
export interface LabelTable {
  wallet_id: string;
  type: string;
  ref: string;
  label: string;
  origin: string | null;
  spendable: number | null;
}

/** A coordinator user. `is_admin` users manage users and may create wallets. */
export interface UserTable {
  id: string;
  name: string;
  is_admin: number;
  created_at: string;
}

/** An API token: only the sha256 of the secret is stored (the secret is shown once). */
export interface TokenTable {
  id: string;
  user_id: string;
  token_hash: string;
  label: string | null;
  created_at: string;
  revoked_at: string | null;
}

/** A user's role on a wallet; `signer` roles are bound to one cosigner id. */
export interface WalletRoleTable {
  wallet_id: string;
  user_id: string;
  role: string;
  cosigner: string | null;
  created_at: string;
}

/** A spend proposal. `payload` is the chain adapter's unsigned payload (base64 PSBT); `version` is the ETag. */
export interface ProposalTable {
  id: string;
  wallet_id: string;
  chain: string;
  state: string;
  version: number;
  proposer: string;
  memo: string | null;
  payload: string;
  /** JSON of the review derived when the proposal was created. */
  review: string;
  threshold: number;
  /** JSON array of cosigner ids. */
  cosigners: string;
  input_count: number;
  created_at: string;
  updated_at: string;
  expires_at: string;
  final_tx: string | null;
  txid: string | null;
  confirmations: number | null;
}

/** What a proposal spends (outpoints): proposals sharing one supersede each other on broadcast. */
export interface ProposalSpendTable {
  proposal_id: string;
  spend: string;
}

/** One verified partial signature: the set key is (proposal, input, public key). */
export interface ProposalSignatureTable {
  proposal_id: string;
  input_index: number;
  public_key: string;
  cosigner: string;
  signature: string;
  submitted_by: string;
  created_at: string;
}

/** A cosigner's refusal to sign. */
export interface ProposalDeclineTable {
  proposal_id: string;
  cosigner: string;
  user_id: string;
  reason: string | null;
  created_at: string;
}

/** A comment on a proposal. */
export interface CommentTable {
  id: string;
  proposal_id: string;
  user_id: string;
  body: string;
  created_at: string;
}

/** One hash-chained audit event of a wallet (see @mofn/core audit/chain.ts). `at` is ms since the epoch. */
export interface AuditEventTable {
  wallet_id: string;
  seq: number;
  at: number | string;
  type: string;
  /** Canonical JSON of the event data. */
  data: string;
  prev_hash: string;
  hash: string;
}

/** A webhook subscription. Its signing secret is derived from the server key, never stored. */
export interface WebhookTable {
  id: string;
  wallet_id: string;
  url: string;
  /** JSON array of event types. */
  events: string;
  created_by: string;
  created_at: string;
  disabled_at: string | null;
}

/** Events written in the same transaction as the change they report (transactional outbox). */
export interface OutboxTable {
  id: string;
  wallet_id: string;
  type: string;
  /** JSON of the event body. */
  payload: string;
  created_at: string;
}

/** One event to deliver to one webhook, with its attempts. */
export interface WebhookDeliveryTable {
  id: string;
  webhook_id: string;
  event_id: string;
  /** pending | delivered | failed */
  status: string;
  attempts: number;
  next_attempt_at: string;
  /** Lease of the instance delivering it now. */
  locked_until: string | null;
  last_status: number | null;
  last_error: string | null;
  delivered_at: string | null;
  created_at: string;
}

/** A POST seen with an Idempotency-Key: the request's fingerprint and, once done, the response. */
export interface IdempotencyKeyTable {
  user_id: string;
  key: string;
  fingerprint: string;
  /** Null while the first request runs. */
  status: number | null;
  body: string | null;
  created_at: string;
}

/** A chain backend setting. `scope`: `wallet:<id>`, `network:<network>` or `global`. Never holds a password. */
export interface ChainBackendTable {
  scope: string;
  /** esplora | electrum | core */
  kind: string;
  url: string;
  /** Bitcoin Core cookie file (core only). */
  cookie_file: string | null;
  /** Bitcoin Core RPC user (core only); the password comes from MOFN_RPC_PASSWORD. */
  rpc_user: string | null;
  updated_at: string;
}

/** The last completed sync of a wallet. */
export interface ChainSyncTable {
  wallet_id: string;
  tip_height: number;
  gap: number;
  next_receive: number;
  next_change: number;
  /** The backend label (kind and endpoint, no credential). */
  backend: string;
  synced_at: string;
}

/** A transaction of a wallet's history as of the last sync; `raw` hex (kept for UTXO parents) was checked against `txid`. */
export interface ChainTxTable {
  wallet_id: string;
  txid: string;
  raw: string | null;
  /** 0 while in the mempool. */
  height: number;
  received: string;
  sent: string;
  fee: string | null;
  vsize: number;
  /** 1 when it touches an address used by more than one transaction. */
  address_reuse: number;
}

/** An unspent output of a wallet as of the last sync. */
export interface ChainUtxoTable {
  wallet_id: string;
  txid: string;
  vout: number;
  amount: string;
  branch: number;
  idx: number;
  address: string;
  height: number;
}

/** A used address of a wallet as of the last sync. */
export interface ChainAddressTable {
  wallet_id: string;
  branch: number;
  idx: number;
  address: string;
  received: string;
  tx_count: number;
  /** 1 when paid by more than one transaction. */
  reused: number;
}

/** A Safe known by a local name: where it lives (chain, RPC URL, address) and its configuration when stored. */
export interface SafeTable {
  name: string;
  chain_id: number;
  rpc_url: string;
  /** EIP-55 checksummed. */
  address: string;
  version: string;
  /** The allow-listed singleton (master copy) address the proxy runs. */
  singleton: string;
  /** JSON array of owner addresses as last read from the chain. */
  owners: string;
  threshold: number;
  created_at: string;
  /** The `wallets` row of a Safe the coordinator serves (roles, audit, webhooks); null for a local Safe. */
  wallet_id: string | null;
}

/** A SafeTx proposal. `tx` is the SafeTx as JSON (amounts as decimal strings); `safe_tx_hash` is recomputed by mofn. */
export interface SafeProposalTable {
  safe_name: string;
  seq: number;
  safe_tx_hash: string;
  /** Decimal text. */
  nonce: string;
  /** eth | erc20 | call | batch | add_owner | remove_owner | swap_owner | threshold | reject */
  kind: string;
  tx: string;
  /** JSON of display facts gathered when proposed (token symbol and decimals, function signature). */
  meta: string;
  /** open | broadcast (execTransaction sent) | executed | superseded | cancelled */
  state: string;
  exec_tx_hash: string | null;
  gas_used: string | null;
  created_at: string;
  updated_at: string;
  /** User id of the proposer on a coordinated Safe; null for local proposals. */
  proposer: string | null;
}

/** One owner's verified signature of a SafeTx; the key (safe_tx_hash, owner) allows one per owner. */
export interface SafeSignatureTable {
  safe_tx_hash: string;
  owner: string;
  /** eip712 | eth_sign | approved_hash | contract */
  kind: string;
  /** 0x hex as exchanged (65 bytes, or the standalone contract-signature form). */
  signature: string;
  /** keystore | file */
  source: string;
  created_at: string;
}
