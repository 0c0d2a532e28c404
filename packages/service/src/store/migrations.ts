import { type Kysely, type Migration, type MigrationProvider } from 'kysely';

/**
 * Schema migrations, in order. Never edit a shipped migration: add a new one.
 * Written with the portable subset of SQL so the same list runs on SQLite and PostgreSQL.
 */
const migrations: Record<string, Migration> = {
  '0001_wallets': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('wallets')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull().unique())
        .addColumn('chain', 'text', (c) => c.notNull())
        .addColumn('network', 'text', (c) => c.notNull())
        .addColumn('script_type', 'text', (c) => c.notNull())
        .addColumn('threshold', 'integer', (c) => c.notNull())
        .addColumn('total', 'integer', (c) => c.notNull())
        .addColumn('sorted', 'integer', (c) => c.notNull())
        .addColumn('descriptor', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('cosigners')
        .addColumn('wallet_id', 'text', (c) => c.notNull().references('wallets.id').onDelete('cascade'))
        .addColumn('position', 'integer', (c) => c.notNull())
        .addColumn('fingerprint', 'text', (c) => c.notNull())
        .addColumn('origin_path', 'text')
        .addColumn('xpub', 'text', (c) => c.notNull())
        .addColumn('public_key', 'text', (c) => c.notNull())
        .addColumn('label', 'text')
        .addPrimaryKeyConstraint('cosigners_pk', ['wallet_id', 'position'])
        .execute();
      await db.schema.createIndex('cosigners_by_key').on('cosigners').column('public_key').execute();
      await db.schema
        .createTable('addresses')
        .addColumn('wallet_id', 'text', (c) => c.notNull().references('wallets.id').onDelete('cascade'))
        .addColumn('branch', 'integer', (c) => c.notNull())
        .addColumn('idx', 'integer', (c) => c.notNull())
        .addColumn('address', 'text', (c) => c.notNull())
        .addColumn('script_pubkey', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('addresses_pk', ['wallet_id', 'branch', 'idx'])
        .execute();
      await db.schema.createIndex('addresses_by_script').on('addresses').column('script_pubkey').execute();
      await db.schema
        .createTable('outpoints')
        .addColumn('txid', 'text', (c) => c.notNull())
        .addColumn('vout', 'integer', (c) => c.notNull())
        .addColumn('amount', 'text', (c) => c.notNull())
        .addColumn('script_pubkey', 'text', (c) => c.notNull())
        .addColumn('wallet_id', 'text')
        .addColumn('first_seen', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('outpoints_pk', ['txid', 'vout'])
        .execute();
      await db.schema
        .createTable('labels')
        .addColumn('wallet_id', 'text', (c) => c.notNull().references('wallets.id').onDelete('cascade'))
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('ref', 'text', (c) => c.notNull())
        .addColumn('label', 'text', (c) => c.notNull())
        .addColumn('origin', 'text')
        .addColumn('spendable', 'integer')
        .addPrimaryKeyConstraint('labels_pk', ['wallet_id', 'type', 'ref'])
        .execute();
    },
    async down(db: Kysely<unknown>) {
      for (const t of ['labels', 'outpoints', 'addresses', 'cosigners', 'wallets']) await db.schema.dropTable(t).execute();
    },
  },
  '0002_coordinator': {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('addresses').addColumn('issued_at', 'text').execute();
      await db.schema
        .createTable('users')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull().unique())
        .addColumn('is_admin', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('tokens')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('token_hash', 'text', (c) => c.notNull().unique())
        .addColumn('label', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('revoked_at', 'text')
        .execute();
      await db.schema
        .createTable('wallet_roles')
        .addColumn('wallet_id', 'text', (c) => c.notNull().references('wallets.id').onDelete('cascade'))
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('cosigner', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('wallet_roles_pk', ['wallet_id', 'user_id', 'role'])
        .execute();
      await db.schema.createIndex('wallet_roles_by_user').on('wallet_roles').column('user_id').execute();
      await db.schema
        .createTable('proposals')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('wallet_id', 'text', (c) => c.notNull().references('wallets.id').onDelete('cascade'))
        .addColumn('chain', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('proposer', 'text', (c) => c.notNull())
        .addColumn('memo', 'text')
        .addColumn('payload', 'text', (c) => c.notNull())
        .addColumn('review', 'text', (c) => c.notNull())
        .addColumn('threshold', 'integer', (c) => c.notNull())
        .addColumn('cosigners', 'text', (c) => c.notNull())
        .addColumn('input_count', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text', (c) => c.notNull())
        .addColumn('final_tx', 'text')
        .addColumn('txid', 'text')
        .addColumn('confirmations', 'integer')
        .execute();
      await db.schema.createIndex('proposals_by_wallet').on('proposals').columns(['wallet_id', 'created_at']).execute();
      await db.schema.createIndex('proposals_by_state').on('proposals').columns(['state', 'expires_at']).execute();
      await db.schema
        .createTable('proposal_spends')
        .addColumn('proposal_id', 'text', (c) => c.notNull().references('proposals.id').onDelete('cascade'))
        .addColumn('spend', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('proposal_spends_pk', ['proposal_id', 'spend'])
        .execute();
      await db.schema.createIndex('proposal_spends_by_spend').on('proposal_spends').column('spend').execute();
      await db.schema
        .createTable('proposal_signatures')
        .addColumn('proposal_id', 'text', (c) => c.notNull().references('proposals.id').onDelete('cascade'))
        .addColumn('input_index', 'integer', (c) => c.notNull())
        .addColumn('public_key', 'text', (c) => c.notNull())
        .addColumn('cosigner', 'text', (c) => c.notNull())
        .addColumn('signature', 'text', (c) => c.notNull())
        .addColumn('submitted_by', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('proposal_signatures_pk', ['proposal_id', 'input_index', 'public_key'])
        .execute();
      await db.schema
        .createTable('proposal_declines')
        .addColumn('proposal_id', 'text', (c) => c.notNull().references('proposals.id').onDelete('cascade'))
        .addColumn('cosigner', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('reason', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('proposal_declines_pk', ['proposal_id', 'cosigner'])
        .execute();
      await db.schema
        .createTable('comments')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('proposal_id', 'text', (c) => c.notNull().references('proposals.id').onDelete('cascade'))
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('body', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('comments_by_proposal').on('comments').columns(['proposal_id', 'created_at']).execute();
      await db.schema
        .createTable('audit_events')
        .addColumn('wallet_id', 'text', (c) => c.notNull())
        .addColumn('seq', 'integer', (c) => c.notNull())
        .addColumn('at', 'bigint', (c) => c.notNull())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('data', 'text', (c) => c.notNull())
        .addColumn('prev_hash', 'text', (c) => c.notNull())
        .addColumn('hash', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('audit_events_pk', ['wallet_id', 'seq'])
        .execute();
      await db.schema
        .createTable('webhooks')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('wallet_id', 'text', (c) => c.notNull().references('wallets.id').onDelete('cascade'))
        .addColumn('url', 'text', (c) => c.notNull())
        .addColumn('events', 'text', (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('disabled_at', 'text')
        .execute();
      await db.schema
        .createTable('outbox')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('wallet_id', 'text', (c) => c.notNull())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('payload', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('webhook_deliveries')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('webhook_id', 'text', (c) => c.notNull().references('webhooks.id').onDelete('cascade'))
        .addColumn('event_id', 'text', (c) => c.notNull().references('outbox.id').onDelete('cascade'))
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull())
        .addColumn('next_attempt_at', 'text', (c) => c.notNull())
        .addColumn('locked_until', 'text')
        .addColumn('last_status', 'integer')
        .addColumn('last_error', 'text')
        .addColumn('delivered_at', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addUniqueConstraint('webhook_deliveries_once', ['webhook_id', 'event_id'])
        .execute();
      await db.schema.createIndex('webhook_deliveries_due').on('webhook_deliveries').columns(['status', 'next_attempt_at']).execute();
      await db.schema
        .createTable('idempotency_keys')
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('key', 'text', (c) => c.notNull())
        .addColumn('fingerprint', 'text', (c) => c.notNull())
        .addColumn('status', 'integer')
        .addColumn('body', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('idempotency_keys_pk', ['user_id', 'key'])
        .execute();
    },
    async down(db: Kysely<unknown>) {
      for (const t of [
        'idempotency_keys',
        'webhook_deliveries',
        'outbox',
        'webhooks',
        'audit_events',
        'comments',
        'proposal_declines',
        'proposal_signatures',
        'proposal_spends',
        'proposals',
        'wallet_roles',
        'tokens',
        'users',
      ]) {
        await db.schema.dropTable(t).execute();
      }
      await db.schema.alterTable('addresses').dropColumn('issued_at').execute();
    },
  },
  '0003_chain': {
    async up(db: Kysely<unknown>) {
      // Backend settings: scope is `wallet:<id>`, `network:<network>` or `global`. No password column:
      // an RPC password is read from MOFN_RPC_PASSWORD when the backend is opened, never stored.
      await db.schema
        .createTable('chain_backends')
        .addColumn('scope', 'text', (c) => c.primaryKey())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('url', 'text', (c) => c.notNull())
        .addColumn('cookie_file', 'text')
        .addColumn('rpc_user', 'text')
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('chain_syncs')
        .addColumn('wallet_id', 'text', (c) => c.primaryKey().references('wallets.id').onDelete('cascade'))
        .addColumn('tip_height', 'integer', (c) => c.notNull())
        .addColumn('gap', 'integer', (c) => c.notNull())
        .addColumn('next_receive', 'integer', (c) => c.notNull())
        .addColumn('next_change', 'integer', (c) => c.notNull())
        .addColumn('backend', 'text', (c) => c.notNull())
        .addColumn('synced_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('chain_txs')
        .addColumn('wallet_id', 'text', (c) => c.notNull().references('wallets.id').onDelete('cascade'))
        .addColumn('txid', 'text', (c) => c.notNull())
        .addColumn('raw', 'text')
        .addColumn('height', 'integer', (c) => c.notNull())
        .addColumn('received', 'text', (c) => c.notNull())
        .addColumn('sent', 'text', (c) => c.notNull())
        .addColumn('fee', 'text')
        .addColumn('vsize', 'integer', (c) => c.notNull())
        .addColumn('address_reuse', 'integer', (c) => c.notNull())
        .addPrimaryKeyConstraint('chain_txs_pk', ['wallet_id', 'txid'])
        .execute();
      await db.schema
        .createTable('chain_utxos')
        .addColumn('wallet_id', 'text', (c) => c.notNull().references('wallets.id').onDelete('cascade'))
        .addColumn('txid', 'text', (c) => c.notNull())
        .addColumn('vout', 'integer', (c) => c.notNull())
        .addColumn('amount', 'text', (c) => c.notNull())
        .addColumn('branch', 'integer', (c) => c.notNull())
        .addColumn('idx', 'integer', (c) => c.notNull())
        .addColumn('address', 'text', (c) => c.notNull())
        .addColumn('height', 'integer', (c) => c.notNull())
        .addPrimaryKeyConstraint('chain_utxos_pk', ['wallet_id', 'txid', 'vout'])
        .execute();
      await db.schema
        .createTable('chain_addresses')
        .addColumn('wallet_id', 'text', (c) => c.notNull().references('wallets.id').onDelete('cascade'))
        .addColumn('branch', 'integer', (c) => c.notNull())
        .addColumn('idx', 'integer', (c) => c.notNull())
        .addColumn('address', 'text', (c) => c.notNull())
        .addColumn('received', 'text', (c) => c.notNull())
        .addColumn('tx_count', 'integer', (c) => c.notNull())
        .addColumn('reused', 'integer', (c) => c.notNull())
        .addPrimaryKeyConstraint('chain_addresses_pk', ['wallet_id', 'branch', 'idx'])
        .execute();
    },
    async down(db: Kysely<unknown>) {
      for (const t of ['chain_addresses', 'chain_utxos', 'chain_txs', 'chain_syncs', 'chain_backends']) await db.schema.dropTable(t).execute();
    },
  },
  '0004_safes': {
    async up(db: Kysely<unknown>) {
      // Safes by local name; one row per (chain, address) so a Safe is never stored twice under two names.
      await db.schema
        .createTable('safes')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('chain_id', 'integer', (c) => c.notNull())
        .addColumn('rpc_url', 'text', (c) => c.notNull())
        .addColumn('address', 'text', (c) => c.notNull())
        .addColumn('version', 'text', (c) => c.notNull())
        .addColumn('singleton', 'text', (c) => c.notNull())
        .addColumn('owners', 'text', (c) => c.notNull())
        .addColumn('threshold', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addUniqueConstraint('safes_chain_address', ['chain_id', 'address'])
        .execute();
      // A SafeTx proposal; seq numbers proposals within their Safe (the ID users type).
      await db.schema
        .createTable('safe_proposals')
        .addColumn('safe_name', 'text', (c) => c.notNull().references('safes.name').onDelete('cascade'))
        .addColumn('seq', 'integer', (c) => c.notNull())
        .addColumn('safe_tx_hash', 'text', (c) => c.notNull().unique())
        .addColumn('nonce', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('tx', 'text', (c) => c.notNull())
        .addColumn('meta', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('exec_tx_hash', 'text')
        .addColumn('gas_used', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('safe_proposals_pk', ['safe_name', 'seq'])
        .execute();
      // At most one signature per (SafeTx hash, owner): the primary key enforces it.
      await db.schema
        .createTable('safe_signatures')
        .addColumn('safe_tx_hash', 'text', (c) => c.notNull().references('safe_proposals.safe_tx_hash').onDelete('cascade'))
        .addColumn('owner', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('signature', 'text', (c) => c.notNull())
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('safe_signatures_pk', ['safe_tx_hash', 'owner'])
        .execute();
    },
    async down(db: Kysely<unknown>) {
      for (const t of ['safe_signatures', 'safe_proposals', 'safes']) await db.schema.dropTable(t).execute();
    },
  },
  '0005_safe_coordination': {
    async up(db: Kysely<unknown>) {
      // A Safe the coordinator serves is also a row of `wallets` (chain 'ethereum'), so that roles, the
      // audit log, webhooks and the wallet lock work for it unchanged; local Safes keep wallet_id null.
      await db.schema.alterTable('safes').addColumn('wallet_id', 'text').execute();
      await db.schema.createIndex('safes_by_wallet').unique().on('safes').column('wallet_id').execute();
      // The user who proposed (coordinated Safes): proposers may cancel their own proposals.
      await db.schema.alterTable('safe_proposals').addColumn('proposer', 'text').execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.alterTable('safe_proposals').dropColumn('proposer').execute();
      await db.schema.dropIndex('safes_by_wallet').execute();
      await db.schema.alterTable('safes').dropColumn('wallet_id').execute();
    },
  },
};

/** Provides the built-in migrations to kysely's Migrator. */
export const migrationProvider: MigrationProvider = {
  getMigrations: () => Promise.resolve(migrations),
};
