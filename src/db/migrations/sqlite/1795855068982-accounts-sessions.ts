import type { MigrationInterface, QueryRunner } from "typeorm";

export class SqliteAccountsSessions1795855068982 implements MigrationInterface {
    name = 'AccountsSessions1795855068982'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`CREATE TABLE "namespace_names" ("name_key" varchar(96) PRIMARY KEY NOT NULL, "kind" varchar(16) NOT NULL, "name" varchar(96) NOT NULL)`);
        await queryRunner.query(`CREATE TABLE "sessions" ("id_hash" varchar(64) PRIMARY KEY NOT NULL, "user_id" integer NOT NULL, "created_at" datetime NOT NULL DEFAULT (datetime('now')), "expires_at" bigint NOT NULL, "last_seen_at" bigint NOT NULL)`);
        await queryRunner.query(`CREATE INDEX "ix_sessions_user" ON "sessions" ("user_id") `);
        await queryRunner.query(`CREATE INDEX "ix_sessions_expires" ON "sessions" ("expires_at") `);
        await queryRunner.query(`DROP INDEX "uq_users_name"`);
        await queryRunner.query(`CREATE TABLE "temporary_users" ("id" integer PRIMARY KEY AUTOINCREMENT NOT NULL, "name" varchar(96) NOT NULL, "email" varchar(320), "is_admin" boolean NOT NULL DEFAULT (0), "password_hash" varchar(512), "created_at" datetime NOT NULL DEFAULT (datetime('now')), "disabled" boolean NOT NULL DEFAULT (0))`);
        await queryRunner.query(`INSERT INTO "temporary_users"("id", "name", "email", "is_admin", "password_hash", "created_at") SELECT "id", "name", "email", "is_admin", "password_hash", "created_at" FROM "users"`);
        await queryRunner.query(`DROP TABLE "users"`);
        await queryRunner.query(`ALTER TABLE "temporary_users" RENAME TO "users"`);
        await queryRunner.query(`CREATE UNIQUE INDEX "uq_users_name" ON "users" ("name") `);
        // Hand-added data step: every existing account name gets its case-insensitive key. An older pair
        // of names differing only in case keeps working (the second is skipped), but no new one can appear.
        await queryRunner.query(`INSERT INTO "namespace_names" ("name_key", "kind", "name") SELECT lower("name"), 'user', "name" FROM "users" ORDER BY "id" ON CONFLICT DO NOTHING`);
        await queryRunner.query(`INSERT INTO "namespace_names" ("name_key", "kind", "name") SELECT lower("name"), 'org', "name" FROM "organizations" ORDER BY "id" ON CONFLICT DO NOTHING`);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`DROP INDEX "uq_users_name"`);
        await queryRunner.query(`ALTER TABLE "users" RENAME TO "temporary_users"`);
        await queryRunner.query(`CREATE TABLE "users" ("id" integer PRIMARY KEY AUTOINCREMENT NOT NULL, "name" varchar(96) NOT NULL, "email" varchar(320), "is_admin" boolean NOT NULL DEFAULT (0), "password_hash" varchar(512), "created_at" datetime NOT NULL DEFAULT (datetime('now')))`);
        await queryRunner.query(`INSERT INTO "users"("id", "name", "email", "is_admin", "password_hash", "created_at") SELECT "id", "name", "email", "is_admin", "password_hash", "created_at" FROM "temporary_users"`);
        await queryRunner.query(`DROP TABLE "temporary_users"`);
        await queryRunner.query(`CREATE UNIQUE INDEX "uq_users_name" ON "users" ("name") `);
        await queryRunner.query(`DROP INDEX "ix_sessions_expires"`);
        await queryRunner.query(`DROP INDEX "ix_sessions_user"`);
        await queryRunner.query(`DROP TABLE "sessions"`);
        await queryRunner.query(`DROP TABLE "namespace_names"`);
    }

}
