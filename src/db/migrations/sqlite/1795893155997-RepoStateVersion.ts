import { MigrationInterface, QueryRunner } from "typeorm";

export class SqliteRepoStateVersion1795893155997 implements MigrationInterface {
    name = 'SqliteRepoStateVersion1795893155997'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`DROP INDEX "uq_repositories_name_key"`);
        await queryRunner.query(`DROP INDEX "uq_repositories_name"`);
        await queryRunner.query(`CREATE TABLE "temporary_repositories" ("id" varchar(36) PRIMARY KEY NOT NULL, "type" varchar(16) NOT NULL, "namespace" varchar(96) NOT NULL, "name" varchar(96) NOT NULL, "private" boolean NOT NULL DEFAULT (0), "default_branch" varchar(255) NOT NULL DEFAULT ('main'), "created_at" datetime NOT NULL DEFAULT (datetime('now')), "updated_at" datetime NOT NULL DEFAULT (datetime('now')), "gc_epoch" integer NOT NULL DEFAULT (0), "namespace_key" varchar(96) NOT NULL, "name_key" varchar(96) NOT NULL, "state_version" integer NOT NULL DEFAULT (0))`);
        await queryRunner.query(`INSERT INTO "temporary_repositories"("id", "type", "namespace", "name", "private", "default_branch", "created_at", "updated_at", "gc_epoch", "namespace_key", "name_key") SELECT "id", "type", "namespace", "name", "private", "default_branch", "created_at", "updated_at", "gc_epoch", "namespace_key", "name_key" FROM "repositories"`);
        await queryRunner.query(`DROP TABLE "repositories"`);
        await queryRunner.query(`ALTER TABLE "temporary_repositories" RENAME TO "repositories"`);
        await queryRunner.query(`CREATE UNIQUE INDEX "uq_repositories_name_key" ON "repositories" ("type", "namespace_key", "name_key") `);
        await queryRunner.query(`CREATE UNIQUE INDEX "uq_repositories_name" ON "repositories" ("type", "namespace", "name") `);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`DROP INDEX "uq_repositories_name"`);
        await queryRunner.query(`DROP INDEX "uq_repositories_name_key"`);
        await queryRunner.query(`ALTER TABLE "repositories" RENAME TO "temporary_repositories"`);
        await queryRunner.query(`CREATE TABLE "repositories" ("id" varchar(36) PRIMARY KEY NOT NULL, "type" varchar(16) NOT NULL, "namespace" varchar(96) NOT NULL, "name" varchar(96) NOT NULL, "private" boolean NOT NULL DEFAULT (0), "default_branch" varchar(255) NOT NULL DEFAULT ('main'), "created_at" datetime NOT NULL DEFAULT (datetime('now')), "updated_at" datetime NOT NULL DEFAULT (datetime('now')), "gc_epoch" integer NOT NULL DEFAULT (0), "namespace_key" varchar(96) NOT NULL, "name_key" varchar(96) NOT NULL)`);
        await queryRunner.query(`INSERT INTO "repositories"("id", "type", "namespace", "name", "private", "default_branch", "created_at", "updated_at", "gc_epoch", "namespace_key", "name_key") SELECT "id", "type", "namespace", "name", "private", "default_branch", "created_at", "updated_at", "gc_epoch", "namespace_key", "name_key" FROM "temporary_repositories"`);
        await queryRunner.query(`DROP TABLE "temporary_repositories"`);
        await queryRunner.query(`CREATE UNIQUE INDEX "uq_repositories_name" ON "repositories" ("type", "namespace", "name") `);
        await queryRunner.query(`CREATE UNIQUE INDEX "uq_repositories_name_key" ON "repositories" ("type", "namespace_key", "name_key") `);
    }

}
