import type { MigrationInterface, QueryRunner } from "typeorm";

export class SqliteQuotas1795353518485 implements MigrationInterface {
    name = 'Quotas1795353518485'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`CREATE TABLE "quotas" ("namespace" varchar(96) PRIMARY KEY NOT NULL, "private_bytes" bigint, "public_bytes" bigint)`);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`DROP TABLE "quotas"`);
    }

}
