import type { MigrationInterface, QueryRunner } from "typeorm";

export class SqliteInit1795349635621 implements MigrationInterface {
    name = 'Init1795349635621'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`CREATE TABLE "lfs_objects" ("oid" varchar(64) PRIMARY KEY NOT NULL, "size" bigint NOT NULL, "created_at" datetime NOT NULL DEFAULT (datetime('now')))`);
        await queryRunner.query(`CREATE TABLE "repo_lfs_objects" ("repo_id" varchar(36) NOT NULL, "oid" varchar(64) NOT NULL, "created_at" datetime NOT NULL DEFAULT (datetime('now')), PRIMARY KEY ("repo_id", "oid"))`);
        await queryRunner.query(`CREATE TABLE "lfs_locks" ("id" varchar(36) PRIMARY KEY NOT NULL, "repo_id" varchar(36) NOT NULL, "path" varchar(4096) NOT NULL, "owner_id" integer NOT NULL, "ref" varchar(1024), "locked_at" datetime NOT NULL DEFAULT (datetime('now')))`);
        await queryRunner.query(`CREATE UNIQUE INDEX "uq_lfs_locks_path" ON "lfs_locks" ("repo_id", "path") `);
        await queryRunner.query(`CREATE TABLE "settings" ("key" varchar(128) PRIMARY KEY NOT NULL, "value" text NOT NULL)`);
        await queryRunner.query(`CREATE TABLE "packs" ("repo_id" varchar(36) NOT NULL, "name" varchar(40) NOT NULL, "object_count" integer NOT NULL, "size_bytes" bigint NOT NULL, "source" varchar(16) NOT NULL, "state" varchar(16) NOT NULL DEFAULT ('live'), "created_at" datetime NOT NULL DEFAULT (datetime('now')), PRIMARY KEY ("repo_id", "name"))`);
        await queryRunner.query(`CREATE TABLE "refs" ("repo_id" varchar(36) NOT NULL, "name" varchar(1024) NOT NULL, "oid" varchar(40) NOT NULL, "peeled" varchar(40), "updated_at" datetime NOT NULL DEFAULT (datetime('now')), PRIMARY KEY ("repo_id", "name"))`);
        await queryRunner.query(`CREATE TABLE "repositories" ("id" varchar(36) PRIMARY KEY NOT NULL, "type" varchar(16) NOT NULL, "namespace" varchar(96) NOT NULL, "name" varchar(96) NOT NULL, "private" boolean NOT NULL DEFAULT (0), "default_branch" varchar(255) NOT NULL DEFAULT ('main'), "created_at" datetime NOT NULL DEFAULT (datetime('now')), "updated_at" datetime NOT NULL DEFAULT (datetime('now')))`);
        await queryRunner.query(`CREATE UNIQUE INDEX "uq_repositories_name" ON "repositories" ("type", "namespace", "name") `);
        await queryRunner.query(`CREATE TABLE "tokens" ("id" integer PRIMARY KEY AUTOINCREMENT NOT NULL, "user_id" integer NOT NULL, "name" varchar(128) NOT NULL, "scope" varchar(16) NOT NULL, "token_hash" varchar(64) NOT NULL, "expires_at" bigint, "last_used_at" bigint, "created_at" datetime NOT NULL DEFAULT (datetime('now')))`);
        await queryRunner.query(`CREATE INDEX "ix_tokens_user" ON "tokens" ("user_id") `);
        await queryRunner.query(`CREATE UNIQUE INDEX "uq_tokens_hash" ON "tokens" ("token_hash") `);
        await queryRunner.query(`CREATE TABLE "users" ("id" integer PRIMARY KEY AUTOINCREMENT NOT NULL, "name" varchar(96) NOT NULL, "email" varchar(320), "is_admin" boolean NOT NULL DEFAULT (0), "password_hash" varchar(512), "created_at" datetime NOT NULL DEFAULT (datetime('now')))`);
        await queryRunner.query(`CREATE UNIQUE INDEX "uq_users_name" ON "users" ("name") `);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`DROP INDEX "uq_users_name"`);
        await queryRunner.query(`DROP TABLE "users"`);
        await queryRunner.query(`DROP INDEX "uq_tokens_hash"`);
        await queryRunner.query(`DROP INDEX "ix_tokens_user"`);
        await queryRunner.query(`DROP TABLE "tokens"`);
        await queryRunner.query(`DROP INDEX "uq_repositories_name"`);
        await queryRunner.query(`DROP TABLE "repositories"`);
        await queryRunner.query(`DROP TABLE "refs"`);
        await queryRunner.query(`DROP TABLE "packs"`);
        await queryRunner.query(`DROP TABLE "settings"`);
        await queryRunner.query(`DROP INDEX "uq_lfs_locks_path"`);
        await queryRunner.query(`DROP TABLE "lfs_locks"`);
        await queryRunner.query(`DROP TABLE "repo_lfs_objects"`);
        await queryRunner.query(`DROP TABLE "lfs_objects"`);
    }

}
