import { MigrationInterface, QueryRunner } from "typeorm";

export class SqliteJobResult1795883080240 implements MigrationInterface {
    name = 'JobResult1795883080240'

    // A nullable column: SQLite adds it in place (no table rebuild).
    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`ALTER TABLE "jobs" ADD COLUMN "result" text`);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`ALTER TABLE "jobs" DROP COLUMN "result"`);
    }

}
