import { MigrationInterface, QueryRunner } from "typeorm";

export class PgCommitMap1795879619356 implements MigrationInterface {
    name = 'PgCommitMap1795879619356'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`CREATE TABLE "commit_map" ("repo_id" character varying(36) NOT NULL, "upstream_sha" character varying(40) NOT NULL, "local_sha" character varying(40) NOT NULL, "method" character varying(16) NOT NULL, "imported_at" bigint NOT NULL, CONSTRAINT "PK_a05c72703cca3322c1ad7801bb3" PRIMARY KEY ("repo_id", "upstream_sha"))`);
        await queryRunner.query(`CREATE UNIQUE INDEX "IDX_commit_map_local" ON "commit_map"  ("repo_id", "local_sha") `);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`DROP INDEX "IDX_commit_map_local"`);
        await queryRunner.query(`DROP TABLE "commit_map"`);
    }

}
