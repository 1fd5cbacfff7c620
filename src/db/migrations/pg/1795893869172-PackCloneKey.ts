import { MigrationInterface, QueryRunner } from "typeorm";

export class PgPackCloneKey1795893869172 implements MigrationInterface {
    name = 'PackCloneKey1795893869172'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`ALTER TABLE "packs" ADD "clone_key" character varying(64)`);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`ALTER TABLE "packs" DROP COLUMN "clone_key"`);
    }

}
