import { MigrationInterface, QueryRunner } from "typeorm";

export class PgJobResult1795883091537 implements MigrationInterface {
    name = 'JobResult1795883091537'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`ALTER TABLE "jobs" ADD "result" text`);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`ALTER TABLE "jobs" DROP COLUMN "result"`);
    }

}
