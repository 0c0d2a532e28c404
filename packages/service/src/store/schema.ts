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
