import type { MigrationInterface, QueryRunner } from "typeorm";

export class PgDownloads1795879570808 implements MigrationInterface {
    name = 'Downloads1795879570808'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`CREATE TABLE "repo_downloads" ("repo_id" character varying(36) NOT NULL, "day" integer NOT NULL, "n" bigint NOT NULL, CONSTRAINT "PK_e2f895f07a761df3347e97b5edb" PRIMARY KEY ("repo_id", "day"))`);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`DROP TABLE "repo_downloads"`);
    }

}
