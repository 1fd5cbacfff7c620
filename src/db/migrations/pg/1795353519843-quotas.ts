import type { MigrationInterface, QueryRunner } from "typeorm";

export class PgQuotas1795353519843 implements MigrationInterface {
    name = 'Quotas1795353519843'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`CREATE TABLE "quotas" ("namespace" character varying(96) NOT NULL, "private_bytes" bigint, "public_bytes" bigint, CONSTRAINT "PK_a0cb9652157239f047e59dc76ce" PRIMARY KEY ("namespace"))`);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`DROP TABLE "quotas"`);
    }

}
