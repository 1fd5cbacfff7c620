import { MigrationInterface, QueryRunner } from "typeorm";

export class SqlitePackCloneKey1795893869165 implements MigrationInterface {
    name = 'PackCloneKey1795893869165'

    // A nullable column: SQLite adds it in place (no table rebuild).
    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`ALTER TABLE "packs" ADD COLUMN "clone_key" varchar(64)`);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`ALTER TABLE "packs" DROP COLUMN "clone_key"`);
    }

}
