import type { MigrationInterface, QueryRunner } from "typeorm";

export class SqliteProfilesLfsDeletions1795879557285 implements MigrationInterface {
    name = 'ProfilesLfsDeletions1795879557285'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`CREATE TABLE "repo_lfs_deletions" ("repo_id" varchar(36) NOT NULL, "oid" varchar(64) NOT NULL, "deleted_at" datetime NOT NULL DEFAULT (datetime('now')), PRIMARY KEY ("repo_id", "oid"))`);
        await queryRunner.query(`DROP INDEX "uq_organizations_name"`);
        await queryRunner.query(`CREATE TABLE "temporary_organizations" ("id" integer PRIMARY KEY AUTOINCREMENT NOT NULL, "name" varchar(96) NOT NULL, "created_at" datetime NOT NULL DEFAULT (datetime('now')), "fullname" varchar(256), "avatar_url" varchar(2048))`);
        await queryRunner.query(`INSERT INTO "temporary_organizations"("id", "name", "created_at") SELECT "id", "name", "created_at" FROM "organizations"`);
        await queryRunner.query(`DROP TABLE "organizations"`);
        await queryRunner.query(`ALTER TABLE "temporary_organizations" RENAME TO "organizations"`);
        await queryRunner.query(`CREATE UNIQUE INDEX "uq_organizations_name" ON "organizations" ("name") `);
        await queryRunner.query(`DROP INDEX "uq_users_name"`);
        await queryRunner.query(`CREATE TABLE "temporary_users" ("id" integer PRIMARY KEY AUTOINCREMENT NOT NULL, "name" varchar(96) NOT NULL, "email" varchar(320), "is_admin" boolean NOT NULL DEFAULT (0), "password_hash" varchar(512), "created_at" datetime NOT NULL DEFAULT (datetime('now')), "disabled" boolean NOT NULL DEFAULT (0), "fullname" varchar(256), "avatar_url" varchar(2048))`);
        await queryRunner.query(`INSERT INTO "temporary_users"("id", "name", "email", "is_admin", "password_hash", "created_at", "disabled") SELECT "id", "name", "email", "is_admin", "password_hash", "created_at", "disabled" FROM "users"`);
        await queryRunner.query(`DROP TABLE "users"`);
        await queryRunner.query(`ALTER TABLE "temporary_users" RENAME TO "users"`);
        await queryRunner.query(`CREATE UNIQUE INDEX "uq_users_name" ON "users" ("name") `);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`DROP INDEX "uq_users_name"`);
        await queryRunner.query(`ALTER TABLE "users" RENAME TO "temporary_users"`);
        await queryRunner.query(`CREATE TABLE "users" ("id" integer PRIMARY KEY AUTOINCREMENT NOT NULL, "name" varchar(96) NOT NULL, "email" varchar(320), "is_admin" boolean NOT NULL DEFAULT (0), "password_hash" varchar(512), "created_at" datetime NOT NULL DEFAULT (datetime('now')), "disabled" boolean NOT NULL DEFAULT (0))`);
        await queryRunner.query(`INSERT INTO "users"("id", "name", "email", "is_admin", "password_hash", "created_at", "disabled") SELECT "id", "name", "email", "is_admin", "password_hash", "created_at", "disabled" FROM "temporary_users"`);
        await queryRunner.query(`DROP TABLE "temporary_users"`);
        await queryRunner.query(`CREATE UNIQUE INDEX "uq_users_name" ON "users" ("name") `);
        await queryRunner.query(`DROP INDEX "uq_organizations_name"`);
        await queryRunner.query(`ALTER TABLE "organizations" RENAME TO "temporary_organizations"`);
        await queryRunner.query(`CREATE TABLE "organizations" ("id" integer PRIMARY KEY AUTOINCREMENT NOT NULL, "name" varchar(96) NOT NULL, "created_at" datetime NOT NULL DEFAULT (datetime('now')))`);
        await queryRunner.query(`INSERT INTO "organizations"("id", "name", "created_at") SELECT "id", "name", "created_at" FROM "temporary_organizations"`);
        await queryRunner.query(`DROP TABLE "temporary_organizations"`);
        await queryRunner.query(`CREATE UNIQUE INDEX "uq_organizations_name" ON "organizations" ("name") `);
        await queryRunner.query(`DROP TABLE "repo_lfs_deletions"`);
    }

}
