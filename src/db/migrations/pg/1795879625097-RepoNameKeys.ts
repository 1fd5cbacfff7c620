import { MigrationInterface, QueryRunner } from "typeorm";

export class PgRepoNameKeys1795879625097 implements MigrationInterface {
    name = 'PgRepoNameKeys1795879625097'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`CREATE TABLE "repo_redirects" ("type" character varying(16) NOT NULL, "namespace_key" character varying(96) NOT NULL, "name_key" character varying(96) NOT NULL, "repo_id" character varying(36) NOT NULL, "created_at" TIMESTAMP NOT NULL DEFAULT now(), CONSTRAINT "PK_bb28109d4ec8eeb4d7bbdfb540e" PRIMARY KEY ("type", "namespace_key", "name_key"))`);
        await queryRunner.query(`CREATE INDEX "ix_repo_redirects_repo" ON "repo_redirects"  ("repo_id") `);
        await queryRunner.query(`ALTER TABLE "repositories" ADD "namespace_key" character varying(96)`);
        await queryRunner.query(`ALTER TABLE "repositories" ADD "name_key" character varying(96)`);
        await queryRunner.query(`UPDATE "repositories" SET "namespace_key" = lower("namespace"), "name_key" = lower("name")`);
        await queryRunner.query(`ALTER TABLE "repositories" ALTER COLUMN "namespace_key" SET NOT NULL`);
        await queryRunner.query(`ALTER TABLE "repositories" ALTER COLUMN "name_key" SET NOT NULL`);
        await queryRunner.query(`CREATE UNIQUE INDEX "uq_repositories_name_key" ON "repositories"  ("type", "namespace_key", "name_key") `);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`DROP INDEX "uq_repositories_name_key"`);
        await queryRunner.query(`ALTER TABLE "repositories" DROP COLUMN "name_key"`);
        await queryRunner.query(`ALTER TABLE "repositories" DROP COLUMN "namespace_key"`);
        await queryRunner.query(`DROP INDEX "ix_repo_redirects_repo"`);
        await queryRunner.query(`DROP TABLE "repo_redirects"`);
    }

}
