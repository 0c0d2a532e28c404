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
};

/** Provides the built-in migrations to kysely's Migrator. */
export const migrationProvider: MigrationProvider = {
  getMigrations: () => Promise.resolve(migrations),
};
