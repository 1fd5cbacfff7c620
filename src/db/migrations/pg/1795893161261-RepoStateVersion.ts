import { MigrationInterface, QueryRunner } from "typeorm";

export class PgRepoStateVersion1795893161261 implements MigrationInterface {
    name = 'PgRepoStateVersion1795893161261'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`ALTER TABLE "repositories" ADD "state_version" integer NOT NULL DEFAULT '0'`);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`ALTER TABLE "repositories" DROP COLUMN "state_version"`);
    }

}
