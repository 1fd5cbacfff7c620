import { MigrationInterface, QueryRunner } from "typeorm";

export class SqliteRepoNameKeys1795879619531 implements MigrationInterface {
    name = 'SqliteRepoNameKeys1795879619531'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`CREATE TABLE "repo_redirects" ("type" varchar(16) NOT NULL, "namespace_key" varchar(96) NOT NULL, "name_key" varchar(96) NOT NULL, "repo_id" varchar(36) NOT NULL, "created_at" datetime NOT NULL DEFAULT (datetime('now')), PRIMARY KEY ("type", "namespace_key", "name_key"))`);
        await queryRunner.query(`CREATE INDEX "ix_repo_redirects_repo" ON "repo_redirects" ("repo_id") `);
        await queryRunner.query(`DROP INDEX "uq_repositories_name"`);
        await queryRunner.query(`CREATE TABLE "temporary_repositories" ("id" varchar(36) PRIMARY KEY NOT NULL, "type" varchar(16) NOT NULL, "namespace" varchar(96) NOT NULL, "name" varchar(96) NOT NULL, "private" boolean NOT NULL DEFAULT (0), "default_branch" varchar(255) NOT NULL DEFAULT ('main'), "created_at" datetime NOT NULL DEFAULT (datetime('now')), "updated_at" datetime NOT NULL DEFAULT (datetime('now')), "gc_epoch" integer NOT NULL DEFAULT (0), "namespace_key" varchar(96) NOT NULL, "name_key" varchar(96) NOT NULL)`);
        await queryRunner.query(`INSERT INTO "temporary_repositories"("id", "type", "namespace", "name", "private", "default_branch", "created_at", "updated_at", "gc_epoch", "namespace_key", "name_key") SELECT "id", "type", "namespace", "name", "private", "default_branch", "created_at", "updated_at", "gc_epoch", lower("namespace"), lower("name") FROM "repositories"`);
        await queryRunner.query(`DROP TABLE "repositories"`);
        await queryRunner.query(`ALTER TABLE "temporary_repositories" RENAME TO "repositories"`);
        await queryRunner.query(`CREATE UNIQUE INDEX "uq_repositories_name" ON "repositories" ("type", "namespace", "name") `);
        await queryRunner.query(`CREATE UNIQUE INDEX "uq_repositories_name_key" ON "repositories" ("type", "namespace_key", "name_key") `);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`DROP INDEX "uq_repositories_name_key"`);
        await queryRunner.query(`DROP INDEX "uq_repositories_name"`);
        await queryRunner.query(`ALTER TABLE "repositories" RENAME TO "temporary_repositories"`);
        await queryRunner.query(`CREATE TABLE "repositories" ("id" varchar(36) PRIMARY KEY NOT NULL, "type" varchar(16) NOT NULL, "namespace" varchar(96) NOT NULL, "name" varchar(96) NOT NULL, "private" boolean NOT NULL DEFAULT (0), "default_branch" varchar(255) NOT NULL DEFAULT ('main'), "created_at" datetime NOT NULL DEFAULT (datetime('now')), "updated_at" datetime NOT NULL DEFAULT (datetime('now')), "gc_epoch" integer NOT NULL DEFAULT (0))`);
        await queryRunner.query(`INSERT INTO "repositories"("id", "type", "namespace", "name", "private", "default_branch", "created_at", "updated_at", "gc_epoch") SELECT "id", "type", "namespace", "name", "private", "default_branch", "created_at", "updated_at", "gc_epoch" FROM "temporary_repositories"`);
        await queryRunner.query(`DROP TABLE "temporary_repositories"`);
        await queryRunner.query(`CREATE UNIQUE INDEX "uq_repositories_name" ON "repositories" ("type", "namespace", "name") `);
        await queryRunner.query(`DROP INDEX "ix_repo_redirects_repo"`);
        await queryRunner.query(`DROP TABLE "repo_redirects"`);
    }

}
