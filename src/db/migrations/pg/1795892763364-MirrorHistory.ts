import { MigrationInterface, QueryRunner } from "typeorm";

export class PgMirrorHistory1795892763364 implements MigrationInterface {
    name = 'MirrorHistory1795892763364'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`ALTER TABLE "mirrors" ADD "history" character varying(8) NOT NULL DEFAULT 'auto'`);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`ALTER TABLE "mirrors" DROP COLUMN "history"`);
    }

}
