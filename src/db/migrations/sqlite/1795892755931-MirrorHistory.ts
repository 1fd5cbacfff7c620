import { MigrationInterface, QueryRunner } from "typeorm";

export class SqliteMirrorHistory1795892755931 implements MigrationInterface {
    name = 'MirrorHistory1795892755931'

    // A column with a constant default: SQLite adds it in place (no table rebuild); existing mirrors are 'auto'.
    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`ALTER TABLE "mirrors" ADD COLUMN "history" varchar(8) NOT NULL DEFAULT ('auto')`);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`ALTER TABLE "mirrors" DROP COLUMN "history"`);
    }

}
