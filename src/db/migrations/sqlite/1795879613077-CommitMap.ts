import { MigrationInterface, QueryRunner } from "typeorm";

export class SqliteCommitMap1795879613077 implements MigrationInterface {
    name = 'SqliteCommitMap1795879613077'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`CREATE TABLE "commit_map" ("repo_id" varchar(36) NOT NULL, "upstream_sha" varchar(40) NOT NULL, "local_sha" varchar(40) NOT NULL, "method" varchar(16) NOT NULL, "imported_at" bigint NOT NULL, PRIMARY KEY ("repo_id", "upstream_sha"))`);
        await queryRunner.query(`CREATE UNIQUE INDEX "IDX_commit_map_local" ON "commit_map" ("repo_id", "local_sha") `);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`DROP INDEX "IDX_commit_map_local"`);
        await queryRunner.query(`DROP TABLE "commit_map"`);
    }

}
