import type { MigrationInterface, QueryRunner } from "typeorm";

export class SqliteDownloads1795879567441 implements MigrationInterface {
    name = 'Downloads1795879567441'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`CREATE TABLE "repo_downloads" ("repo_id" varchar(36) NOT NULL, "day" integer NOT NULL, "n" bigint NOT NULL, PRIMARY KEY ("repo_id", "day"))`);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`DROP TABLE "repo_downloads"`);
    }

}
