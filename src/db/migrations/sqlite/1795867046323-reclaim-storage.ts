import type { MigrationInterface, QueryRunner } from "typeorm";

export class SqliteReclaimStorage1795867046323 implements MigrationInterface {
    name = 'ReclaimStorage1795867046323'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`CREATE TABLE "temporary_lfs_objects" ("oid" varchar(64) PRIMARY KEY NOT NULL, "size" bigint NOT NULL, "created_at" datetime NOT NULL DEFAULT (datetime('now')), "orphaned_at" bigint)`);
        await queryRunner.query(`INSERT INTO "temporary_lfs_objects"("oid", "size", "created_at") SELECT "oid", "size", "created_at" FROM "lfs_objects"`);
        await queryRunner.query(`DROP TABLE "lfs_objects"`);
        await queryRunner.query(`ALTER TABLE "temporary_lfs_objects" RENAME TO "lfs_objects"`);
        await queryRunner.query(`CREATE TABLE "temporary_packs" ("repo_id" varchar(36) NOT NULL, "name" varchar(40) NOT NULL, "object_count" integer NOT NULL, "size_bytes" bigint NOT NULL, "source" varchar(16) NOT NULL, "state" varchar(16) NOT NULL DEFAULT ('live'), "created_at" datetime NOT NULL DEFAULT (datetime('now')), "superseded_at" bigint, PRIMARY KEY ("repo_id", "name"))`);
        await queryRunner.query(`INSERT INTO "temporary_packs"("repo_id", "name", "object_count", "size_bytes", "source", "state", "created_at") SELECT "repo_id", "name", "object_count", "size_bytes", "source", "state", "created_at" FROM "packs"`);
        await queryRunner.query(`DROP TABLE "packs"`);
        await queryRunner.query(`ALTER TABLE "temporary_packs" RENAME TO "packs"`);
        await queryRunner.query(`DROP INDEX "uq_repositories_name"`);
        await queryRunner.query(`CREATE TABLE "temporary_repositories" ("id" varchar(36) PRIMARY KEY NOT NULL, "type" varchar(16) NOT NULL, "namespace" varchar(96) NOT NULL, "name" varchar(96) NOT NULL, "private" boolean NOT NULL DEFAULT (0), "default_branch" varchar(255) NOT NULL DEFAULT ('main'), "created_at" datetime NOT NULL DEFAULT (datetime('now')), "updated_at" datetime NOT NULL DEFAULT (datetime('now')), "gc_epoch" integer NOT NULL DEFAULT (0))`);
        await queryRunner.query(`INSERT INTO "temporary_repositories"("id", "type", "namespace", "name", "private", "default_branch", "created_at", "updated_at") SELECT "id", "type", "namespace", "name", "private", "default_branch", "created_at", "updated_at" FROM "repositories"`);
        await queryRunner.query(`DROP TABLE "repositories"`);
        await queryRunner.query(`ALTER TABLE "temporary_repositories" RENAME TO "repositories"`);
        await queryRunner.query(`CREATE UNIQUE INDEX "uq_repositories_name" ON "repositories" ("type", "namespace", "name") `);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`DROP INDEX "uq_repositories_name"`);
        await queryRunner.query(`ALTER TABLE "repositories" RENAME TO "temporary_repositories"`);
        await queryRunner.query(`CREATE TABLE "repositories" ("id" varchar(36) PRIMARY KEY NOT NULL, "type" varchar(16) NOT NULL, "namespace" varchar(96) NOT NULL, "name" varchar(96) NOT NULL, "private" boolean NOT NULL DEFAULT (0), "default_branch" varchar(255) NOT NULL DEFAULT ('main'), "created_at" datetime NOT NULL DEFAULT (datetime('now')), "updated_at" datetime NOT NULL DEFAULT (datetime('now')))`);
        await queryRunner.query(`INSERT INTO "repositories"("id", "type", "namespace", "name", "private", "default_branch", "created_at", "updated_at") SELECT "id", "type", "namespace", "name", "private", "default_branch", "created_at", "updated_at" FROM "temporary_repositories"`);
        await queryRunner.query(`DROP TABLE "temporary_repositories"`);
        await queryRunner.query(`CREATE UNIQUE INDEX "uq_repositories_name" ON "repositories" ("type", "namespace", "name") `);
        await queryRunner.query(`ALTER TABLE "packs" RENAME TO "temporary_packs"`);
        await queryRunner.query(`CREATE TABLE "packs" ("repo_id" varchar(36) NOT NULL, "name" varchar(40) NOT NULL, "object_count" integer NOT NULL, "size_bytes" bigint NOT NULL, "source" varchar(16) NOT NULL, "state" varchar(16) NOT NULL DEFAULT ('live'), "created_at" datetime NOT NULL DEFAULT (datetime('now')), PRIMARY KEY ("repo_id", "name"))`);
        await queryRunner.query(`INSERT INTO "packs"("repo_id", "name", "object_count", "size_bytes", "source", "state", "created_at") SELECT "repo_id", "name", "object_count", "size_bytes", "source", "state", "created_at" FROM "temporary_packs"`);
        await queryRunner.query(`DROP TABLE "temporary_packs"`);
        await queryRunner.query(`ALTER TABLE "lfs_objects" RENAME TO "temporary_lfs_objects"`);
        await queryRunner.query(`CREATE TABLE "lfs_objects" ("oid" varchar(64) PRIMARY KEY NOT NULL, "size" bigint NOT NULL, "created_at" datetime NOT NULL DEFAULT (datetime('now')))`);
        await queryRunner.query(`INSERT INTO "lfs_objects"("oid", "size", "created_at") SELECT "oid", "size", "created_at" FROM "temporary_lfs_objects"`);
        await queryRunner.query(`DROP TABLE "temporary_lfs_objects"`);
    }

}
